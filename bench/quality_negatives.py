"""False-negative rate of mined hard negatives against a simulated crawl's truth, before and after filtering; Markdown.

    .venv/bin/python bench/quality_negatives.py --data DATA --truth SIM/truth/qa.parquet \\
        [--hard-negatives DATA/hard_negatives --candidates DATA/hard_negative_candidates] \\
        --out bench/reports/quality_negatives.md

Reads what `jobs/mine_negatives.py ... --candidates-output DATA/hard_negative_candidates` wrote
(every candidate with its teacher score, the positive's score and its reason) and DATA/qa_dedup
(to find each QA in the truth by url and position). A candidate is a false negative when the
truth says it answers the query: it comes from the same XQuAD question as the positive (an
exact or near duplicate, or a copy; translations are in other languages, so never in a
language's corpus), or its answer is the positive's answer text after normalisation (one XQuAD
paragraph answering several questions).

Before filtering = what a miner without false-negative filters keeps: each query's best
`num_negatives` candidates by teacher score once its own answer is removed (sentence-transformers
with no margin). After = the negatives in hard_negatives. The sweep recomputes the filters from
the candidates for other margins (faqmine.mine_negatives.negatives.filter_reasons), so one mining run
calibrates the defaults. When the run had a cross-encoder teacher (`--teacher`), the same margins are
applied to its scores and to the encoder's cosine (both are in the candidates), side by side: the
false-negative rate among kept negatives with the teacher filter vs the cosine filter.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import common
import numpy as np
import pandas as pd
import pyarrow.dataset as ds

from faqmine.build_benchmarks.benchmark import answer_key
from faqmine.mine_negatives.negatives import FilterConfig, filter_reasons


def _read(folder: Path, columns: list[str] | None = None) -> pd.DataFrame:
    return ds.dataset(folder, format="parquet", partitioning="hive").to_table(columns=columns).to_pandas()


def truth_of_docs(data: Path, truth_path: Path) -> pd.DataFrame:
    """qa_id -> xquad_id, truth language, normalised answer key (qa_dedup matched to the truth by url and position)."""
    qas = _read(data / "qa_dedup", ["qa_id", "url", "position", "answer"])
    truth = pd.read_parquet(truth_path, columns=["url", "position", "xquad_id", "language"])
    merged = qas.merge(truth, on=["url", "position"], how="left")
    merged["answer_key"] = [answer_key(a) for a in merged["answer"]]
    return merged.set_index("qa_id")[["xquad_id", "language", "answer_key"]]


def false_negative_mask(frame: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    """Per (query_id, doc_id) row: the truth says the document answers the query."""
    q = truth.reindex(frame["query_id"].str[2:].to_numpy())
    d = truth.reindex(frame["doc_id"].str[2:].to_numpy())
    same_question = (q["xquad_id"].to_numpy() == d["xquad_id"].to_numpy()) & q["xquad_id"].notna().to_numpy()
    same_answer = q["answer_key"].to_numpy() == d["answer_key"].to_numpy()
    return same_question | same_answer


def top_per_query(frame: pd.DataFrame, n: int, score: str = "teacher_score") -> pd.DataFrame:
    ordered = frame.sort_values(["query_id", score, "doc_id"], ascending=[True, False, True])
    return ordered.groupby("query_id", sort=False).head(n)


def teacher_vs_cosine(candidates: pd.DataFrame, pool: pd.DataFrame, n_keep: int) -> list[str]:
    """The same margin filters on the cross-encoder teacher's scores and on the encoder's cosine, over the queries
    whose positive is among the candidates (its cosine is that candidate's): kept negatives and false negatives,
    among each query's best 1, 5 and `n_keep` by the same score (training uses the top of the list)."""
    positive_cosine = candidates[candidates["reason"] == "is_positive"].set_index("query_id")["cosine"]
    both = pool[pool["query_id"].isin(positive_cosine.index)].copy()
    both["positive_cosine"] = both["query_id"].map(positive_cosine).to_numpy()
    lines = ["", f"Teacher filter vs cosine filter ({both['query_id'].nunique()} queries whose positive was "
             "recalled; identity rules as in the run, then the margin on each score, then each query's best n by "
             "the same score):", "",
             "| filter | best n | teacher: negatives / query | teacher: false-negative rate | "
             "cosine: negatives / query | cosine: false-negative rate |", "| --- | --- | --- | --- | --- | --- |"]
    n_queries = max(both["query_id"].nunique(), 1)
    configs = [FilterConfig(relative_margin=None, num_negatives=n_keep)]
    configs += [FilterConfig(relative_margin=m, num_negatives=n_keep) for m in (0.0, 0.02, 0.05, 0.1)]
    for config in configs:
        name = f"relative_margin {config.relative_margin}" if config.relative_margin is not None else "no margin"
        open_ = {}
        for score, positive in (("teacher_score", "positive_score"), ("cosine", "positive_cosine")):
            reasons = filter_reasons(both[score].to_numpy(), both[positive].to_numpy(), config=config)
            open_[score] = both[pd.isna(reasons)]
        for depth in sorted({1, 5, n_keep}):
            cells = []
            for score in ("teacher_score", "cosine"):
                kept = top_per_query(open_[score], depth, score)
                cells += [f"{len(kept) / n_queries:.1f}", rate(kept["fn"].to_numpy())]
            lines.append(f"| {name} | {depth} | {' | '.join(cells)} |")
    return lines


def rate(mask: np.ndarray) -> str:
    return f"{mask.mean():.2%} ({int(mask.sum())} / {len(mask)})" if len(mask) else "n/a (0)"


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--data", required=True, help="data root with qa_dedup, hard_negatives, "
                        "hard_negative_candidates")
    parser.add_argument("--truth", required=True, help="the simulator's truth/qa.parquet")
    parser.add_argument("--hard-negatives", default=None, metavar="PATH",
                        help="the hard_negatives dataset (default: DATA/hard_negatives)")
    parser.add_argument("--candidates", default=None, metavar="PATH",
                        help="its --candidates-output (default: DATA/hard_negative_candidates)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "reports" / "quality_negatives.md"))
    args = parser.parse_args(argv)
    data = Path(args.data)
    hard_negatives = Path(args.hard_negatives) if args.hard_negatives else data / "hard_negatives"
    candidates_folder = Path(args.candidates) if args.candidates else data / "hard_negative_candidates"
    stats = json.loads((hard_negatives / "_stats.json").read_text())
    n_keep = int(stats["filters"]["num_negatives"])
    truth = truth_of_docs(data, Path(args.truth))
    candidates = _read(candidates_folder)
    candidates["fn"] = false_negative_mask(candidates, truth)
    hard = _read(hard_negatives, ["query_id", "negative_ids"])
    final = hard.explode("negative_ids").rename(columns={"negative_ids": "doc_id"}).dropna()
    final_fn = false_negative_mask(final, truth)
    not_self = candidates[candidates["reason"] != "is_positive"]
    before = top_per_query(not_self, n_keep)
    matched = truth["xquad_id"].notna().mean()

    lines = [
        "# Hard negatives against the simulator's truth",
        "",
        f"Data: `{data}` (`{hard_negatives.name}`, `{candidates_folder.name}`); truth: `{args.truth}` "
        f"({matched:.1%} of qa_dedup QAs matched to the truth).",
        f"Mining: teacher `{stats['teacher']}`, k={stats['k']} (BM25) + {stats['dense_k']} (dense), filters "
        f"`{json.dumps(stats['filters'])}`; {stats['in']} train queries in, {stats['out']} with negatives, "
        f"{stats['negatives_per_query']} negatives per query.",
        "",
        "| negatives | false-negative rate |",
        "| --- | --- |",
        f"| all recall candidates except the positive itself | {rate(not_self['fn'].to_numpy())} |",
        f"| **before filtering**: best {n_keep} per query by teacher score, positive removed | "
        f"{rate(before['fn'].to_numpy())} |",
        f"| **after filtering**: hard_negatives | {rate(final_fn)} |",
        "",
        "At the top of the lists (what training with a few hard negatives per query uses):",
        "",
        "| best n per query | before filtering | after filtering |",
        "| --- | --- | --- |",
    ]
    final_ranked = final.assign(fn=final_fn, rank=final.groupby("query_id").cumcount())
    for depth in (1, 3, 5, 10, 50):
        lines.append(f"| {depth} | {rate(top_per_query(not_self, depth)['fn'].to_numpy())} | "
                     f"{rate(final_ranked[final_ranked['rank'] < depth]['fn'].to_numpy())} |")
    lines += [
        "",
        "False negatives among the candidates, by the reason that removed them (none: kept as a negative):",
        "",
        "| reason | candidates | of which false negatives |",
        "| --- | --- | --- |",
    ]
    for reason, group in not_self.groupby(not_self["reason"].fillna("(kept)")):
        lines.append(f"| {reason} | {len(group)} | {int(group['fn'].sum())} |")

    lines += ["", "Sweep (margins recomputed from the candidates; identity rules and one candidate per text as in "
              "the run):", "",
              "| filters | negatives / query | false-negative rate |", "| --- | --- | --- |"]
    identity = not_self["reason"].isin(["qrels_positive", "same_answer", "duplicate_of_positive",
                                        "translation_of_positive", "duplicate_negative"]).to_numpy()
    pool = not_self[~identity]
    n_queries = max(pool["query_id"].nunique(), 1)  # the queries with candidates left after the identity rules
    sweep = [FilterConfig(relative_margin=None, num_negatives=n_keep)]
    sweep += [FilterConfig(relative_margin=m, num_negatives=n_keep) for m in (0.0, 0.01, 0.02, 0.05, 0.1)]
    sweep += [FilterConfig(relative_margin=None, absolute_margin=m, num_negatives=n_keep) for m in (0.0, 0.02, 0.05)]
    sweep += [FilterConfig(relative_margin=0.05, min_score=s, num_negatives=n_keep) for s in (0.7, 0.75)]
    for config in sweep:
        reasons = filter_reasons(pool["teacher_score"].to_numpy(), pool["positive_score"].to_numpy(), config=config)
        kept = top_per_query(pool[pd.isna(reasons)], n_keep)
        knobs = {k: v for k, v in vars(config).items() if v is not None and k not in ("num_negatives", "range_min")}
        fn = rate(kept["fn"].to_numpy())
        lines.append(f"| {knobs or 'identity rules only'} | {len(kept) / n_queries:.1f} | {fn} |")
    if stats["teacher"] != "encoder-cosine":  # a cross-encoder scored them: compare its filter with the cosine's
        lines += teacher_vs_cosine(candidates, pool, n_keep)
    by_reason = Counter(stats["candidates"]["dropped"])
    lines += ["", f"Candidates: {stats['candidates']['in']} in, {stats['candidates']['out']} negatives, dropped "
              f"{dict(by_reason)}; by source {stats['candidates']['by_source']}.", ""]
    return common.write_report(args.out, lines)


if __name__ == "__main__":
    sys.exit(main())

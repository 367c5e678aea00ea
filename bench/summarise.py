"""Speed of the evaluation's summary (faqmine.retrieval.evaluation.summarise) against one bootstrap per estimate.

    .venv/bin/python bench/summarise.py                      # the experiment's shape, report on stdout
    .venv/bin/python bench/summarise.py --queries 200 --pairs 6 --resamples 200

The per-query table has the experiment's shape: four trained strategies x `--seeds` seeds plus base, bm25 and
hybrid; `--pairs` language pairs of `--queries` queries each (and the pooled cells over them); three metrics.
`summarise` draws the resamples of a cell once for every system, seed and comparison (SharedResamples: a matrix
product per cell, sign-flip p-values batched). The baseline computes the same estimates one at a time, each with
its own draw (`bootstrap_ci`, `bootstrap_ci_seeds`, `sign_flip_p_value` per row), which is how summarise worked
before. Both run in this process on the same table; the ratio baseline/summarise is printed, and the largest
difference between their pooled means (0: only the draws behind the intervals differ).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from faqmine.retrieval.bootstrap import bootstrap_ci, bootstrap_ci_seeds, sign_flip_p_value
from faqmine.retrieval.evaluation import summarise

STRATEGIES = ("inbatch", "randneg", "hardneg", "marginmse")
BASELINES = ("base", "inbatch")
METRICS = ("ndcg@10", "mrr@10", "recall@100")


def per_query_table(queries: int, pairs: int, seeds: int, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    systems = [(s, seed) for s in STRATEGIES for seed in range(1, seeds + 1)]
    systems += [("base", None), ("bm25", None), ("hybrid", None)]
    for p in range(pairs):
        truth = rng.beta(4, 2, size=queries)
        for strategy, seed in systems:
            trained = 0.01 * STRATEGIES.index(strategy) if strategy in STRATEGIES else 0.0
            shift = {"bm25": -0.3, "hybrid": -0.1}.get(strategy, trained)
            for metric in METRICS:
                values = np.clip(truth + shift + rng.normal(0, 0.05, queries), 0, 1)
                rows.append(pd.DataFrame({
                    "strategy": strategy, "seed": seed, "task": "cross", "language_pair": f"l{p}-x",
                    "query_language": f"l{p}", "doc_language": "x", "language_group": "zero-shot" if p % 2 else
                    "trained", "query_id": [f"q{p}_{i}" for i in range(queries)], "metric": metric,
                    "value": values}))
    frame = pd.concat(rows, ignore_index=True)
    return frame.assign(seed=frame["seed"].astype("Int64"), step=pd.array([pd.NA] * len(frame), dtype="Int64"))


def one_at_a_time(per_query: pd.DataFrame, resamples: int) -> dict[tuple, float]:
    """The pooled estimates of summarise, each with its own draw: value per (cell, metric, strategy, baseline)."""
    out = {}
    cells = [(pair, f) for pair, f in per_query.groupby("language_pair")] + [("all", per_query)]
    for pair, frame in cells:
        for metric, by_metric in frame.groupby("metric"):
            key = by_metric["language_pair"] + "/" + by_metric["query_id"]
            wide = by_metric.assign(key=key, seed=by_metric["seed"].fillna(-1)).pivot_table(
                index="key", columns=["strategy", "seed"], values="value", aggfunc="first")
            runs = {s: [c for c in wide.columns if c[0] == s] for s in dict.fromkeys(c[0] for c in wide.columns)}
            for strategy, cols in runs.items():
                matrix = wide[cols].to_numpy().T
                for i in range(len(cols)):
                    bootstrap_ci(matrix[i], resamples, seed=i)
                out[(pair, metric, strategy, None)] = bootstrap_ci_seeds(matrix, resamples).value
                for baseline in BASELINES:
                    if baseline == strategy:
                        continue
                    base = wide[runs[baseline]].to_numpy().T
                    d = matrix - base  # seed by seed, or a one-run side against every run of the other
                    for i in range(len(d)):
                        bootstrap_ci(d[i], resamples, seed=i)
                    out[(pair, metric, strategy, baseline)] = bootstrap_ci_seeds(d, resamples).value
                    sign_flip_p_value(d.mean(axis=0))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=150, help="queries per language pair (default 150)")
    parser.add_argument("--pairs", type=int, default=40, help="language pairs (default 40)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per trained strategy (default 3)")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000)")
    args = parser.parse_args()
    per_query = per_query_table(args.queries, args.pairs, args.seeds, np.random.default_rng(0))
    per_query.insert(0, "run_id", "bench")

    started = time.perf_counter()
    baseline = one_at_a_time(per_query, args.resamples)
    baseline_s = time.perf_counter() - started
    started = time.perf_counter()
    shared = summarise(per_query, "bench", compare_to=BASELINES, resamples=args.resamples)
    shared_s = time.perf_counter() - started

    pooled = shared[shared["seed"].isna() & shared["language_pair"].isin(
        [f"l{p}-x" for p in range(args.pairs)] + ["all"])]
    gap = max(abs(row.value - baseline[(row.language_pair, row.metric, row.strategy,
                                        None if pd.isna(row.baseline) else row.baseline)])
              for row in pooled.itertuples())
    print(f"per-query rows {len(per_query):,}: {args.pairs} language pairs x {args.queries} queries, "
          f"{len(STRATEGIES)} strategies x {args.seeds} seeds + base, bm25, hybrid; {args.resamples} resamples")
    print(f"one bootstrap per estimate (baseline): {baseline_s:.1f} s")
    print(f"summarise, one shared draw per cell:   {shared_s:.1f} s "
          "(also the per-group cells and every per-seed comparison)")
    print(f"ratio baseline / summarise: {baseline_s / shared_s:.1f}x")
    print(f"largest difference of a pooled estimate: {gap:.2e} (means are equal; only their draws differ)")


if __name__ == "__main__":
    main()

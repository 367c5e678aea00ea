"""Calibrate and measure bitext alignment against a simulated crawl's translation truth; writes a Markdown report.

    .venv/bin/python bench/quality_bitext.py --qa-dedup DATA/qa_dedup --truth SIM/truth/qa.parquet \\
        --out bench/reports/quality_bitext.md

Runs the bitext stage's own steps (encode, chunked faiss search, candidate scores) once, then
for both methods (cosine, margin) takes the mutual best pairs with no threshold and sweeps the
threshold. Truth: qa_dedup rows are matched to the simulator's truth by (url, position); a
gold pair is two QAs of the same translation group (one XQuAD question published by one site)
in two languages, both present in qa_dedup. A predicted pair is correct when both QAs are in
the same translation group. Precision and recall are reported per language pair (truth
languages), at the defaults of faqmine.align_bitext.alignment and at the threshold this run would choose:
the one that maximises the smallest recall over the English pairs while every English pair
keeps precision >= --target-precision. A second scenario removes a seeded share of the QAs
first, so that many QAs have no translation on their site (the simulator gives nearly every
QA of a multilingual site its translations; the real web does not).
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import common
import numpy as np
import pandas as pd


def gold_and_labels(qa: pd.DataFrame, truth: pd.DataFrame) -> tuple[dict, dict]:
    """(gold pair keys per language pair, qa_id -> (translation_group, truth language))."""
    merged = qa.merge(truth[["url", "position", "language", "translation_group", "site"]], on=["url", "position"],
                      how="left", suffixes=("", "_truth"))
    labels = {r.qa_id: (r.translation_group, r.language_truth)
              for r in merged.itertuples() if isinstance(r.translation_group, str)}
    gold: dict[str, set] = defaultdict(set)
    groups: dict[str, set[str]] = defaultdict(set)
    for group, language in labels.values():
        groups[group].add(language)
    for group, languages in groups.items():
        for a, b in combinations(sorted(languages), 2):
            gold[f"{a}-{b}"].add(group)
    return gold, labels


def evaluate(pairs: pd.DataFrame, gold: dict, labels: dict, threshold: float) -> dict[str, dict]:
    """Per truth language pair: gold, predicted, correct, precision, recall at `threshold`."""
    kept = pairs[pairs["score"] >= threshold]
    predicted: dict[str, int] = defaultdict(int)
    found: dict[str, set] = defaultdict(set)
    for a, b in zip(kept["qa_id_a"], kept["qa_id_b"], strict=True):
        la, lb = labels.get(a), labels.get(b)
        if la and lb and la[1] != lb[1]:
            key = "-".join(sorted((la[1], lb[1])))
        else:  # a QA outside every translation group: count it under the languages the job saw
            key = "-".join(sorted((la[1] if la else "?", lb[1] if lb else "?")))
        predicted[key] += 1
        if la and lb and la[0] == lb[0] and la[1] != lb[1]:
            found[key].add(la[0])
    out = {}
    for key in sorted(set(gold) | set(predicted)):
        n_gold, n_pred, n_ok = len(gold.get(key, ())), predicted.get(key, 0), len(found.get(key, ()))
        out[key] = {"gold": n_gold, "predicted": n_pred, "correct": n_ok,
                    "precision": n_ok / n_pred if n_pred else float("nan"),
                    "recall": n_ok / n_gold if n_gold else float("nan")}
    return out


def english(results: dict[str, dict]) -> dict[str, dict]:
    return {k: v for k, v in results.items() if "en" in k.split("-") and "?" not in k and v["gold"]}


def choose(pairs: pd.DataFrame, gold: dict, labels: dict, target: float) -> tuple[float | None, float]:
    """The threshold maximising the smallest English recall with every English precision >= target."""
    best, best_recall = None, -1.0
    for threshold in np.unique(np.round(pairs["score"].to_numpy(), 3)):
        res = english(evaluate(pairs, gold, labels, float(threshold)))
        if not res or any(not v["precision"] >= target for v in res.values()):
            continue
        low = min(v["recall"] for v in res.values())
        if low > best_recall:
            best, best_recall = float(threshold), low
    return best, best_recall


def align_in_memory(vectors: pd.DataFrame, method: str) -> pd.DataFrame:
    """Mutual best pairs (no threshold) of each site and language pair with
    faqmine.align_bitext.alignment.align: the pairs
    the Spark stage gives (tests/test_bitext_job.py checks that), without Spark's overhead."""
    from faqmine.align_bitext.alignment import AlignConfig, align

    rows = []
    for _, group in vectors.groupby("site", sort=True):
        for a, b in combinations(sorted(group["language"].unique()), 2):
            side_a = group[group["language"] == a].sort_values("qa_id")
            side_b = group[group["language"] == b].sort_values("qa_id")
            x = np.stack(side_a["vector"].to_numpy()).astype(np.float32)
            y = np.stack(side_b["vector"].to_numpy()).astype(np.float32)
            result = align(x, y, AlignConfig(method=method), threshold=float("-inf"))
            ids_a, ids_b = side_a["qa_id"].to_numpy(), side_b["qa_id"].to_numpy()
            rows += list(zip(ids_a[result.i], ids_b[result.j], result.score.tolist(), strict=True))
    return pd.DataFrame(rows, columns=["qa_id_a", "qa_id_b", "score"])


def table(results: dict[str, dict]) -> list[str]:
    head = ["| pair | gold | predicted | correct | precision | recall |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    return head + [f"| {key} | {v['gold']} | {v['predicted']} | {v['correct']} | {v['precision']:.3f} | "
                   f"{v['recall']:.3f} |" for key, v in results.items()]


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--qa-dedup", required=True, help="qa_dedup dataset of a simulated crawl")
    parser.add_argument("--truth", required=True, help="the simulator's truth/qa.parquet")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "reports" / "quality_bitext.md"))
    parser.add_argument("--encoder", default=None, help="sentence-transformers folder (default: the packaged e5)")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--target-precision", type=float, default=0.95)
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--vectors", default=None,
                        help="Parquet file of the QA vectors: written after encoding, read instead of encoding "
                        "when it exists (recalibrate without encoding again)")
    parser.add_argument("--in-memory", action="store_true",
                        help="align each site with faqmine.align_bitext.alignment in this process "
                        "instead of the Spark stage "
                        "(same pairs; quicker on one machine)")
    parser.add_argument("--sample-sites", type=float, default=1.0,
                        help="use a seeded share of the sites only (a quicker run)")
    parser.add_argument("--drop-share", type=float, default=0.3,
                        help="share of QAs removed in the second scenario (QAs without a partner)")
    args = parser.parse_args(argv)

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("FAQMINE_QUIET_SPARK", "1")
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from faqmine.align_bitext.alignment import DEFAULT_K, DEFAULT_THRESHOLDS, METHODS
    from faqmine.build_benchmarks.splits import domain_unit
    from faqmine.embedding.encode import EncodeConfig, resolve_encoder_path
    from faqmine.embedding.identity import model_fingerprint
    from faqmine.spark.align_bitext import (
        BitextConfig,
        multilingual_site_qas,
        mutual_best,
        neighbour_edges_df,
        qa_vectors_df,
        scored_candidates,
    )
    from faqmine.spark.datasets import read_dataset
    from faqmine.spark.embed import EmbedConfig, encode_qas
    from faqmine.spark.session import build_session

    truth = pd.read_parquet(args.truth)

    started = time.time()
    config = BitextConfig(encoder=resolve_encoder_path(args.encoder), chunk_size=args.chunk_size)
    offline = args.in_memory and args.vectors and Path(args.vectors).exists()
    if offline:  # no Spark at all: QAs with pyarrow, vectors from the cache, alignment in memory
        import pyarrow.dataset as ds

        qa = ds.dataset(args.qa_dedup, format="parquet", partitioning="hive", exclude_invalid_files=True).to_table(
            columns=["qa_id", "url", "position", "language", "domain"]).to_pandas()
        if args.sample_sites < 1:
            qa = qa[[domain_unit(d, 7) < args.sample_sites for d in qa["domain"]]]
        vectors_all = pd.read_parquet(args.vectors)
        n_qa, n_multi, texts = len(qa), len(vectors_all), 2 * len(vectors_all)
    else:
        spark = build_session("faqmine-quality-bitext", master=args.master)
        qa_dedup = read_dataset(spark, args.qa_dedup, "qa_dedup")
        if args.sample_sites < 1:
            keep = F.udf(lambda d: domain_unit(d, 7) < args.sample_sites, "boolean")
            qa_dedup = qa_dedup.where(keep("domain"))
        qas = multilingual_site_qas(qa_dedup)
        if args.vectors and Path(args.vectors).exists():
            vectors_all = spark.read.parquet(args.vectors)
            texts = 2 * vectors_all.count()
        else:
            embed = EmbedConfig(encode=EncodeConfig(encoder=config.encoder))
            embeddings, _ = encode_qas(qas, embed, model_fingerprint(config.encoder))
            vectors_all = qa_vectors_df(qas, embeddings, config.question_weight)
            texts = 2 * qas.count()
            if args.vectors:
                vectors_all.write.mode("overwrite").parquet(args.vectors)
        qa = qa_dedup.select("qa_id", "url", "position", "language").toPandas()
        n_qa, n_multi = len(qa), qas.count()
    scenarios = {}
    for share in (0.0, args.drop_share):
        dropped = {q for q in qa["qa_id"] if share and domain_unit(q, 99) < share}
        if offline:
            local = vectors_all[~vectors_all["qa_id"].isin(dropped)]
            pairs = {method: align_in_memory(local, method) for method in METHODS}
        else:
            vectors = vectors_all.where(~F.col("qa_id").isin(sorted(dropped))) if dropped else vectors_all
            if args.in_memory:
                local = vectors.toPandas()
                pairs = {method: align_in_memory(local, method) for method in METHODS}
            else:
                candidates = scored_candidates(neighbour_edges_df(vectors, config), DEFAULT_K).persist(
                    StorageLevel.MEMORY_AND_DISK)
                pairs = {method: mutual_best(candidates, method, None).toPandas() for method in METHODS}
                candidates.unpersist()
        scenarios[share] = (pairs, *gold_and_labels(qa[~qa["qa_id"].isin(dropped)], truth))
    if not offline:
        spark.stop()

    lines = [
        "# Bitext alignment against the simulator's translation truth", "",
        f"- qa_dedup: `{args.qa_dedup}` ({n_qa} QAs"
        + (f" of a {args.sample_sites:.0%} sample of the sites" if args.sample_sites < 1 else "")
        + f", {n_multi} on sites with two or more languages)",
        f"- truth: `{args.truth}` ({len(truth)} QAs)",
        f"- encoder: `{config.encoder}` (question with its query prompt, answer with its passage prompt, as the "
        f"embed stage encodes them), question weight {config.question_weight}, k = {DEFAULT_K}, "
        f"chunk size {args.chunk_size}; {texts} texts encoded",
        f"- target: precision >= {args.target_precision} for every language paired with English",
        f"- two scenarios: all QAs of qa_dedup (in the simulator nearly every QA of a multilingual site has its "
        f"translations), and the same with a seeded {args.drop_share:.0%} of the QAs removed before alignment, so "
        "that many QAs have no partner on their site, as on the real web: the threshold matters there",
        "",
    ]
    summary = []
    for method in METHODS:
        default = DEFAULT_THRESHOLDS[method]
        lines += [f"## {method}", ""]
        for share, (pairs, gold, labels) in scenarios.items():
            name = "all QAs" if not share else f"{share:.0%} of QAs removed"
            chosen, low_recall = choose(pairs[method], gold, labels, args.target_precision)
            at_default = evaluate(pairs[method], gold, labels, default)
            en = english(at_default)
            min_p = min(v["precision"] for v in en.values()) if en else float("nan")
            min_r = min(v["recall"] for v in en.values()) if en else float("nan")
            summary.append(f"{method}, {name}: default threshold {default} -> English pairs min precision "
                           f"{min_p:.3f}, min recall {min_r:.3f}; best threshold on this data {chosen} "
                           f"(min recall {low_recall:.3f}); gold pairs {sum(len(v) for v in gold.values())}")
            lines += [f"### {name}", "",
                      f"Mutual best pairs without threshold: {len(pairs[method])}; gold pairs: "
                      f"{sum(len(v) for v in gold.values())}. Threshold this data would choose: **{chosen}** "
                      f"(smallest English recall {low_recall:.3f}). At the default **{default}**: English pairs "
                      f"min precision {min_p:.3f}, min recall {min_r:.3f}.", "", *table(at_default), ""]
            sweep = ["| threshold | min precision (en pairs) | min recall (en pairs) | pairs kept |",
                     "| ---: | ---: | ---: | ---: |"]
            scores = pairs[method]["score"].to_numpy()
            grid = sorted({*np.round(np.quantile(scores, [0, 0.02, 0.05, 0.1, 0.2, 0.3]), 3), default}) \
                if len(scores) else []
            for threshold in grid:
                res = english(evaluate(pairs[method], gold, labels, float(threshold)))
                sweep.append(f"| {threshold} | {min(v['precision'] for v in res.values()):.3f} | "
                             f"{min(v['recall'] for v in res.values()):.3f} | {int((scores >= threshold).sum())} |")
            lines += ["Threshold sweep:", "", *sweep, ""]
    lines += ["## Summary", "", *[f"- {s}" for s in summary], "", f"Run time {time.time() - started:.0f}s.", ""]
    return common.write_report(args.out, lines, summary)


if __name__ == "__main__":
    sys.exit(main())

"""spark-submit entry point: benchmarks (train split) -> `hard_negatives` (+ sentence-transformers training exports).

    spark-submit jobs/mine_negatives.py --benchmarks data/demo/benchmarks --output data/demo/hard_negatives

Candidates are the union of each query's BM25 top-k and dense top-k in its language's train
corpus, searched shard by shard and merged; each gets a teacher score (the encoder's cosine, or
`--teacher` CrossEncoder folder); the query's own answer, its qrels, identical answers,
duplicates and translations of the positive (from `--duplicates` and `--bitext`) and candidates
within the margins of the positive are dropped, each under its reason. See
faqmine.spark.mine_negatives for the steps and faqmine.mine_negatives.negatives for the rules.

Also writes, unless --no-export, <export>/triplets/ (anchor, positive, negative_1..n) for
MultipleNegativesRankingLoss and <export>/marginmse/ (query, positive, negative, label) for
MarginMSELoss: Parquet that `datasets.load_dataset("parquet", data_files=...)` reads and
SentenceTransformerTrainer takes as it is.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

from faqmine.core.stats import StageStats
from faqmine.embedding.encode import resolve_encoder_path
from faqmine.mine_negatives.negatives import DEFAULT_K, FilterConfig, RecallConfig
from faqmine.search.lexical import METHODS, BM25Params
from faqmine.spark.datasets import local_path, read_dataset, replace_folder, write_dataset
from faqmine.spark.job import job_parser, print_summary, start
from faqmine.spark.mine_negatives import JOB, MiningConfig, export_marginmse, export_triplets, run_mining


def _optional_float(text: str) -> float | None:
    return None if text.lower() in ("none", "off", "") else float(text)


def _finished(path: Path) -> bool:
    return (path / "_SUCCESS").exists() or (path / "_stats.json").exists()


def _side_input(value: str | None, benchmarks: Path, name: str) -> Path | None:
    """An explicit path, 'none', or (default) the sibling dataset of the benchmarks folder when it exists."""
    if value is not None:
        return None if value.lower() == "none" else local_path(value)
    sibling = benchmarks.parent / name
    return sibling if _finished(sibling) else None


def main(argv: list[str] | None = None) -> int:
    parser = job_parser("mine_negatives", "Mine hard negatives for the train queries of the benchmarks: BM25 + dense "
                        "recall over corpus shards, teacher scores, false-negative filters.")
    parser.add_argument("--benchmarks", required=True, help="benchmarks folder (corpus/, queries/, qrels/)")
    parser.add_argument("--output", required=True, help="hard_negatives dataset folder to write (replaced atomically)")
    parser.add_argument("--duplicates", default=None, metavar="PATH|none",
                        help="duplicates dataset (default: beside the benchmarks folder when there is one)")
    parser.add_argument("--bitext", default=None, metavar="PATH|none",
                        help="bitext dataset (default: beside the benchmarks folder when there is one)")
    parser.add_argument("--candidates-output", default=None, metavar="PATH",
                        help="also write every candidate with its scores and reason (hard_negative_candidates)")
    parser.add_argument("--export", default=None, metavar="PATH",
                        help="folder of the training exports (default: <output>_export)")
    parser.add_argument("--no-export", action="store_true", help="write the hard_negatives dataset only")
    parser.add_argument("--export-negatives", type=int, default=5,
                        help="negatives per query in the exports: negative_1..n columns of triplets (queries with "
                        "fewer are left out), rows per query in marginmse")
    parser.add_argument("--languages", nargs="+", default=None, metavar="LANG", help="only these languages")

    recall = parser.add_argument_group("recall")
    recall.add_argument("--k", type=int, default=DEFAULT_K, help="BM25 top-k per query (and dense, unless --dense-k)")
    recall.add_argument("--dense-k", type=int, default=None, help="dense top-k per query (default: --k)")
    recall.add_argument("--encoder", default=None, metavar="PATH",
                        help="sentence-transformers folder for dense recall (and the default teacher); default: "
                        "$FAQMINE_ENCODER, else the packaged multilingual-e5-small under models/")
    recall.add_argument("--device", default=None, help="torch device of the encoder and teacher (cpu, cuda, ...)")
    recall.add_argument("--batch-size", type=int, default=64, help="encoder batch size")
    recall.add_argument("--max-seq-length", type=int, default=256, help="tokens per text given to the encoder")
    bm25 = BM25Params()
    recall.add_argument("--bm25-k1", type=float, default=bm25.k1)
    recall.add_argument("--bm25-b", type=float, default=bm25.b)
    recall.add_argument("--bm25-method", choices=METHODS, default=bm25.method, help="bm25s scoring variant")

    teacher = parser.add_argument_group("teacher")
    teacher.add_argument("--teacher", default=None, metavar="PATH",
                         help="sentence-transformers CrossEncoder folder (e.g. bge-reranker-v2-m3); default: the "
                         "encoder's cosine of query and passage")
    teacher.add_argument("--teacher-batch-size", type=int, default=32, help="cross-encoder batch size")

    filters = parser.add_argument_group("false-negative filters (sentence-transformers' mine_hard_negatives knobs; "
                                        "'none' switches one off)")
    defaults = FilterConfig()
    filters.add_argument("--num-negatives", type=int, default=defaults.num_negatives,
                         help="negatives kept per query, best teacher score first")
    filters.add_argument("--range-min", type=int, default=defaults.range_min,
                         help="skip this many best remaining candidates")
    filters.add_argument("--absolute-margin", type=_optional_float, default=defaults.absolute_margin,
                         help="drop a candidate if its score + margin > the positive's")
    filters.add_argument("--relative-margin", type=_optional_float, default=defaults.relative_margin,
                         help="drop a candidate if its score > positive - |positive| * margin")
    filters.add_argument("--max-score", type=_optional_float, default=defaults.max_score,
                         help="drop a candidate scoring above this")
    filters.add_argument("--min-score", type=_optional_float, default=defaults.min_score,
                         help="drop a candidate scoring below this (too easy)")

    work = parser.add_argument_group("how the work is cut")
    plan = MiningConfig()
    work.add_argument("--shards", type=int, default=plan.shards, help="corpus shards per language, at least")
    work.add_argument("--max-shard-docs", type=int, default=plan.max_shard_docs,
                      help="more shards for a language whose shards would hold more documents than this")
    work.add_argument("--query-block-size", type=int, default=plan.query_block_size,
                      help="queries searched by one task")
    work.add_argument("--encode-partitions", type=int, default=None,
                      help="tasks that encode (default: twice the default parallelism)")
    args = parser.parse_args(argv)

    benchmarks = local_path(args.benchmarks)
    for part in ("corpus", "queries", "qrels"):
        if not _finished(benchmarks / part):
            parser.error(f"{benchmarks / part} is not a finished dataset (run jobs/build_benchmarks.py)")
    encoder = resolve_encoder_path(args.encoder)  # resolved here: executors need not share the driver's env
    if not Path(encoder).is_dir():
        parser.error(f"no encoder folder at {encoder} (build the default one with `make setup`)")
    teacher_path = None
    if args.teacher:
        teacher_path = str(local_path(args.teacher))
        if not Path(teacher_path).is_dir():
            parser.error(f"no cross-encoder folder at {teacher_path}")
    if args.export_negatives < 1:
        parser.error("--export-negatives must be at least 1")
    try:
        config = MiningConfig(
            recall=RecallConfig(k=args.k, dense_k=args.dense_k,
                                bm25=BM25Params(k1=args.bm25_k1, b=args.bm25_b, method=args.bm25_method)),
            filters=FilterConfig(absolute_margin=args.absolute_margin, relative_margin=args.relative_margin,
                                 max_score=args.max_score, min_score=args.min_score,
                                 num_negatives=args.num_negatives, range_min=args.range_min),
            encoder=encoder, device=args.device, batch_size=args.batch_size, max_seq_length=args.max_seq_length,
            teacher=teacher_path, teacher_batch_size=args.teacher_batch_size, shards=args.shards,
            max_shard_docs=args.max_shard_docs, query_block_size=args.query_block_size,
            languages=tuple(args.languages) if args.languages else None, encode_partitions=args.encode_partitions,
        )
    except ValueError as exc:
        parser.error(str(exc))
    duplicates_path = _side_input(args.duplicates, benchmarks, "duplicates")
    bitext_path = _side_input(args.bitext, benchmarks, "bitext")

    spark, started = start(JOB, args)
    result = run_mining(
        read_dataset(spark, str(benchmarks / "corpus"), "benchmarks_corpus"),
        read_dataset(spark, str(benchmarks / "queries"), "benchmarks_queries"),
        read_dataset(spark, str(benchmarks / "qrels"), "benchmarks_qrels"),
        read_dataset(spark, str(duplicates_path), "duplicates") if duplicates_path else None,
        read_dataset(spark, str(bitext_path), "bitext") if bitext_path else None,
        config,
    )
    summary = result.summary()
    summary["inputs"] = {"benchmarks": str(benchmarks), "duplicates": str(duplicates_path or ""),
                         "bitext": str(bitext_path or "")}
    ordered = result.hard_negatives.repartition("language").sortWithinPartitions("language", "query_id")
    if args.candidates_output:
        counts = summary["candidates"]
        candidate_stats = StageStats(JOB)
        candidate_stats.kept(counts["out"])
        for reason, n in counts["dropped"].items():
            candidate_stats.drop(reason, n)
        candidate_stats.count("rows_out", counts["in"])  # every candidate is written, negatives have no reason
        candidates = (result.candidates.repartition("language")
                      .sortWithinPartitions("language", "query_id", "doc_id"))
        write_dataset(candidates, args.candidates_output, "hard_negative_candidates",
                      candidate_stats.to_dict(unit="candidate"))
    path = write_dataset(ordered, args.output, "hard_negatives", summary)
    if not args.no_export:
        target = local_path(args.export) if args.export else path.parent / f"{path.name}_export"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
        hard = spark.read.parquet(str(path))
        n = args.export_negatives
        export_triplets(hard, n).write.parquet(str(tmp / "triplets"))
        export_marginmse(hard, n).write.parquet(str(tmp / "marginmse"))
        exported = {"negatives_per_query": n,
                    "triplets_rows": spark.read.parquet(str(tmp / "triplets")).count(),
                    "marginmse_rows": spark.read.parquet(str(tmp / "marginmse")).count()}
        (tmp / "_export.json").write_text(json.dumps(exported, indent=2) + "\n", encoding="utf-8")
        replace_folder(tmp, target)
        summary["export"] = {"path": str(target), **exported}
    result.unpersist()
    print_summary(path, summary, started)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""spark-submit entry point: `qa_dedup` -> retrieval benchmarks (corpus, queries, qrels) per language and split.

    spark-submit jobs/build_benchmarks.py --input data/demo/qa_dedup --output data/demo/benchmarks

Writes <output>/{corpus,queries,qrels}/language=xx/split=yy/ (schemas/benchmarks_*.json) and
<output>/export/<lang>/ in the BEIR/MTEB file layout; the whole folder is replaced atomically.
Splits are by domain (faqmine.build_benchmarks.splits); see faqmine.spark.build_benchmarks for the rules.
"""

from __future__ import annotations

import sys
import uuid

from faqmine.build_benchmarks.benchmark import export_beir
from faqmine.build_benchmarks.splits import DEFAULT_FRACTIONS, SplitConfig, parse_fractions
from faqmine.core.stats import write_stats
from faqmine.spark.build_benchmarks import JOB, BenchmarkConfig, run_benchmarks
from faqmine.spark.datasets import local_path, read_dataset, replace_folder, write_dataset
from faqmine.spark.job import job_parser, print_summary, start


def main(argv: list[str] | None = None) -> int:
    parser = job_parser("build_benchmarks", "Build per-language retrieval benchmarks (BEIR/MTEB layout) from qa_dedup, "
                        "split by site so that no domain is in two splits.")
    parser.add_argument("--input", required=True, help="qa_dedup dataset folder")
    parser.add_argument("--output", required=True, help="benchmarks folder to write (replaced atomically)")
    defaults = BenchmarkConfig()
    parser.add_argument("--min-qas", type=int, default=defaults.min_qas,
                        help="build a benchmark for every language with at least this many QAs")
    parser.add_argument("--languages", nargs="+", default=None, metavar="LANG",
                        help="only these languages (still at least --min-qas QAs)")
    parser.add_argument("--splits", default=",".join(f"{n}={f}" for n, f in DEFAULT_FRACTIONS),
                        help="target share of domains per split")
    parser.add_argument("--seed", type=int, default=0, help="seed of the domain -> split assignment")
    parser.add_argument("--max-relevant", type=int, default=defaults.max_relevant,
                        help="drop queries whose answer text is shared by more documents than this")
    parser.add_argument("--no-export", action="store_true", help="write the Parquet datasets only")
    args = parser.parse_args(argv)
    try:
        splits = SplitConfig(parse_fractions(args.splits), seed=args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    config = BenchmarkConfig(splits=splits, min_qas=args.min_qas,
                             languages=tuple(args.languages) if args.languages else None,
                             max_relevant=args.max_relevant)

    spark, started = start(JOB, args)
    result = run_benchmarks(read_dataset(spark, args.input, "qa_dedup"), config)
    target = local_path(args.output)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
    info = result.info
    write_dataset(result.corpus, str(tmp / "corpus"), "benchmarks_corpus", result.corpus_stats.to_dict(**info))
    write_dataset(result.queries, str(tmp / "queries"), "benchmarks_queries", result.queries_stats.to_dict(**info))
    write_dataset(result.qrels, str(tmp / "qrels"), "benchmarks_qrels", result.qrels_stats.to_dict(**info))
    result.unpersist()
    summary = result.queries_stats.to_dict(**info, docs=result.corpus_stats.records_out,
                                           qrels=result.qrels_stats.counters["rows_out"])
    if not args.no_export:
        summary["export"] = export_beir(tmp, tmp / "export")
    write_stats(tmp, summary)
    replace_folder(tmp, target)
    print_summary(target, summary, started)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""spark-submit entry point: WARC files -> `qa_raw` (schema.org FAQPage question-answer pairs).

    spark-submit jobs/extract.py --input data/background/ --output data/demo/qa_raw

One Spark task per WARC file; see faqmine.extract for what is kept and every drop reason,
and faqmine.warc_input for remote reads (retries, resume, s3://). The FAQMINE_S3_ENDPOINT
and FAQMINE_HTTP_* variables set for the driver are passed on to the executors.
"""

from __future__ import annotations

import os
import sys
import time

from faqmine.extract import DEFAULT_MAX_PAGE_BYTES
from faqmine.spark.datasets import write_dataset
from faqmine.spark.extract_stage import run_extract
from faqmine.spark.job import job_parser, print_summary
from faqmine.spark.session import build_session
from faqmine.warc_input import REMOTE_ENV, resolve_inputs


def main(argv: list[str] | None = None) -> int:
    parser = job_parser("extract", "Extract schema.org FAQPage question-answer pairs from WARC files into qa_raw.")
    parser.add_argument("--input", nargs="+", required=True,
                        help="WARC files, directories, globs, file:// https:// s3:// URLs, "
                        "or a warc.paths(.gz) listing, local or remote")
    parser.add_argument("--output", required=True, help="qa_raw dataset folder to write (replaced atomically)")
    parser.add_argument("--crawl", default=None,
                        help="crawl id for the crawl column (default: the warcinfo isPartOf, "
                        "a CC-MAIN-YYYY-WW in the path, else 'local')")
    parser.add_argument("--prefix", default=None,
                        help="prefix joined to relative lines of a listing (default: for a remote listing the root "
                        "of its host or bucket; for a local one beside the listing if the file exists there, "
                        "else https://data.commoncrawl.org/)")
    parser.add_argument("--max-files", type=int, default=None,
                        help="read at most this many WARC files (the first ones, after sampling)")
    parser.add_argument("--sample-fraction", type=float, default=None, metavar="F",
                        help="read a seeded random share F (0 < F <= 1) of the listed files, chosen per file")
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample-fraction")
    parser.add_argument("--max-page-bytes", type=int, default=DEFAULT_MAX_PAGE_BYTES,
                        help="responses larger than this are dropped as too_large without being read")
    args = parser.parse_args(argv)

    try:
        files = resolve_inputs(args.input, prefix=args.prefix, max_files=args.max_files,
                               sample_fraction=args.sample_fraction, seed=args.seed)
    except (FileNotFoundError, ValueError) as exc:
        parser.error(str(exc))
    if not files:
        parser.error("the sample is empty: raise --sample-fraction or change --seed")
    executor_env = {f"spark.executorEnv.{name}": os.environ[name] for name in REMOTE_ENV if os.environ.get(name)}
    spark, started = build_session("faqmine-extract", master=args.master, conf=executor_env), time.time()
    qa, stats, persisted = run_extract(spark, files, crawl=args.crawl, max_page_bytes=args.max_page_bytes)
    sample = {"sample_fraction": args.sample_fraction, "sample_seed": args.seed} if args.sample_fraction else {}
    summary = stats.to_dict(warc_files_given=len(files), **sample)
    path = write_dataset(qa, args.output, "qa_raw", summary)
    persisted.unpersist()
    print_summary(path, summary, started)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

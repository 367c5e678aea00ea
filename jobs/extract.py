"""spark-submit entry point: WARC files -> `qa_raw` (schema.org FAQPage question-answer pairs).

    spark-submit jobs/extract.py --input ../shared/data/warc/ --output data/demo/qa_raw

One Spark task per WARC file; see faqmine.extract for what is kept and every drop reason.
"""

from __future__ import annotations

import sys

from faqmine.extract import DEFAULT_MAX_PAGE_BYTES
from faqmine.spark.datasets import write_dataset
from faqmine.spark.extract_stage import run_extract
from faqmine.spark.job import job_parser, print_summary, start
from faqmine.warc_input import resolve_inputs


def main(argv: list[str] | None = None) -> int:
    parser = job_parser("extract", "Extract schema.org FAQPage question-answer pairs from WARC files into qa_raw.")
    parser.add_argument("--input", nargs="+", required=True,
                        help="WARC files, directories, globs, file:// https:// s3:// URLs, "
                        "or a warc.paths(.gz) listing")
    parser.add_argument("--output", required=True, help="qa_raw dataset folder to write (replaced atomically)")
    parser.add_argument("--crawl", default=None,
                        help="crawl id for the crawl column (default: the warcinfo isPartOf, "
                        "a CC-MAIN-YYYY-WW in the path, else 'local')")
    parser.add_argument("--prefix", default=None,
                        help="prefix joined to relative lines of a listing (default: beside the listing "
                        "if the file exists there, else https://data.commoncrawl.org/)")
    parser.add_argument("--max-files", type=int, default=None, help="read at most this many WARC files")
    parser.add_argument("--max-page-bytes", type=int, default=DEFAULT_MAX_PAGE_BYTES,
                        help="responses larger than this are dropped as too_large without being read")
    args = parser.parse_args(argv)

    try:
        files = resolve_inputs(args.input, prefix=args.prefix, max_files=args.max_files)
    except FileNotFoundError as exc:
        parser.error(str(exc))
    spark, started = start("extract", args)
    qa, stats, persisted = run_extract(spark, files, crawl=args.crawl, max_page_bytes=args.max_page_bytes)
    summary = stats.to_dict(warc_files_given=len(files))
    path = write_dataset(qa, args.output, "qa_raw", summary)
    persisted.unpersist()
    print_summary(path, summary, started)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

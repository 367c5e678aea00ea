"""spark-submit entry point: Web Data Commons schema.org FAQPage N-Quads dumps -> `qa_raw`.

    spark-submit jobs/extract_wdc.py --input data/wdc/ --output data/demo/qa_raw

The alternative first stage for users who have WDC dumps (the input WebFAQ v1 used):
it skips WARC parsing and writes the same qa_raw schema; see faqmine.extract_wdc.nquads for the
placeholders of what a dump does not record and for every drop reason. Remote dumps
(https://, s3://) are read like remote WARC files (faqmine.extract.warc_input: retries, resume).
"""

from __future__ import annotations

import os
import sys
import time

from faqmine.extract.warc_input import REMOTE_ENV
from faqmine.extract_wdc.nquads import resolve_dumps
from faqmine.spark.datasets import write_dataset
from faqmine.spark.extract_wdc import run_extract_wdc
from faqmine.spark.job import job_parser, print_summary
from faqmine.spark.session import build_session


def main(argv: list[str] | None = None) -> int:
    parser = job_parser("extract_wdc", "Read schema.org FAQPage question-answer pairs from Web Data Commons "
                        "N-Quads dumps into qa_raw (instead of extracting them from WARC files).")
    parser.add_argument("--input", nargs="+", required=True,
                        help="N-Quads files (.nq, .gz, .txt.gz as WDC names them), folders, globs, "
                        "or http(s):// s3:// URLs")
    parser.add_argument("--output", required=True, help="qa_raw dataset folder to write (replaced atomically)")
    parser.add_argument("--crawl", default=None,
                        help="value of the crawl column (default: a CC-MAIN-YYYY-WW in the file path, else 'wdc')")
    parser.add_argument("--max-files", type=int, default=None, help="read at most this many dump files")
    args = parser.parse_args(argv)

    try:
        files = resolve_dumps(args.input, max_files=args.max_files)
    except FileNotFoundError as exc:
        parser.error(str(exc))
    executor_env = {f"spark.executorEnv.{name}": os.environ[name] for name in REMOTE_ENV if os.environ.get(name)}
    spark, started = build_session("faqmine-extract_wdc", master=args.master, conf=executor_env), time.time()
    qa, stats, persisted = run_extract_wdc(spark, files, crawl=args.crawl)
    summary = stats.to_dict(nquad_files_given=len(files))
    path = write_dataset(qa, args.output, "qa_raw", summary)
    persisted.unpersist()
    print_summary(path, summary, started)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

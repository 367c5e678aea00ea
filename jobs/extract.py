"""spark-submit entry point: WARC files -> `qa_raw` (schema.org FAQPage question-answer pairs).

    spark-submit jobs/extract.py --input data/background/ --output data/demo/qa_raw

One Spark task per WARC file; see faqmine.extract.records for what is kept and every drop reason,
and faqmine.extract.warc_input for remote reads (retries, resume, s3://). The FAQMINE_S3_ENDPOINT
and FAQMINE_HTTP_* variables set for the driver are passed on to the executors.
"""

import sys

from faqmine.spark.extract import Extract

main = Extract().main  # main(argv) -> exit code, for callers in Python

if __name__ == "__main__":
    sys.exit(main())

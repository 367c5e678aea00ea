"""spark-submit entry point: Web Data Commons schema.org FAQPage N-Quads dumps -> `qa_raw`.

    spark-submit jobs/extract_wdc.py --input data/wdc/ --output data/demo/qa_raw

The alternative first stage for users who have WDC dumps (the input WebFAQ v1 used):
it skips WARC parsing and writes the same qa_raw schema; see faqmine.extract_wdc.nquads for the
placeholders of what a dump does not record and for every drop reason. Remote dumps
(https://, s3://) are read like remote WARC files (faqmine.extract.warc_input: retries, resume).
"""

import sys

from faqmine.spark.extract_wdc import ExtractWdc

main = ExtractWdc().main  # main(argv) -> exit code, for callers in Python

if __name__ == "__main__":
    sys.exit(main())

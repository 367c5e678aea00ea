"""spark-submit entry point: `qa` -> `qa_dedup` (one QA per duplicate cluster) + `duplicates` (every QA removed).

    spark-submit jobs/dedup.py --input data/demo/qa --output data/demo/qa_dedup \\
        --duplicates-output data/demo/duplicates

Exact duplicates by normalised text, near duplicates by MinHash LSH and connected components:
see faqmine.spark.dedup and faqmine.dedup for the rules and knobs.
"""

import sys

from faqmine.spark.dedup import Dedup

main = Dedup().main  # main(argv) -> exit code, for callers in Python

if __name__ == "__main__":
    sys.exit(main())

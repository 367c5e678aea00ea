"""spark-submit entry point: `qa_raw` -> `qa` (cleaned QA pairs with language, language_score, script).

    spark-submit jobs/clean_langid.py --input data/demo/qa_raw --output data/demo/qa

Cleaning rules and their drop reasons: faqmine.clean_langid.cleaning;
language identification: faqmine.clean_langid.langid.
"""

import sys

from faqmine.spark.clean_langid import CleanLangId

main = CleanLangId().main  # main(argv) -> exit code, for callers in Python

if __name__ == "__main__":
    sys.exit(main())

"""spark-submit entry point: `qa_dedup` -> `qa_embeddings` (question and answer vectors of every QA, once).

    spark-submit jobs/embed.py --input data/demo/qa_dedup --output data/demo/qa_embeddings

Every later stage that compares QAs by meaning (splits, bitext, hard negatives, the base model's
evaluation) reads these vectors instead of encoding again. Re-running on a grown qa_dedup
encodes only the QAs the output does not hold yet. See faqmine.spark.embed.
"""

import sys

from faqmine.spark.embed import Embed

main = Embed().main  # main(argv) -> exit code, for callers in Python

if __name__ == "__main__":
    sys.exit(main())

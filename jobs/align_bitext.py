"""spark-submit entry point: `qa_dedup` -> `bitext` (QA pairs of one site in two languages that match).

    spark-submit jobs/align_bitext.py --input data/demo/qa_dedup --output data/demo/bitext

Pairs are mined only between QAs of the same site (registered domain) in different languages,
as WebFAQ did: mutual best matches of question+answer embeddings above a threshold, by cosine
or by margin. See faqmine.spark.align_bitext for the steps and faqmine.align_bitext.alignment for the scores.
"""

import sys

from faqmine.spark.align_bitext import AlignBitext

main = AlignBitext().main  # main(argv) -> exit code, for callers in Python

if __name__ == "__main__":
    sys.exit(main())

"""spark-submit entry point: benchmarks (train split) -> `hard_negatives` (+ sentence-transformers training exports).

    spark-submit jobs/mine_negatives.py --benchmarks data/demo/benchmarks --output data/demo/hard_negatives

Candidates are the union of each query's BM25 top-k and dense top-k in its language's train
corpus; each gets a teacher score, and false negatives are dropped under their reasons
(faqmine.spark.mine_negatives for the steps, faqmine.mine_negatives.negatives for the rules).
Unless --no-export, also writes <output>_export/triplets/ (MultipleNegativesRankingLoss) and
<output>_export/marginmse/ (MarginMSELoss), Parquet that SentenceTransformerTrainer takes as it is.
"""

import sys

from faqmine.spark.mine_negatives import MineNegatives

main = MineNegatives().main  # main(argv) -> exit code, for callers in Python

if __name__ == "__main__":
    sys.exit(main())

"""spark-submit entry point: `qa_dedup` -> retrieval benchmarks (corpus, queries, qrels) per language and split.

    spark-submit jobs/build_benchmarks.py --input data/demo/qa_dedup --embeddings data/demo/qa_embeddings \
        --duplicates data/demo/duplicates --output data/demo/benchmarks

Writes <output>/{corpus,queries,qrels}/language=xx/split=yy/ (schemas/benchmarks_*.json),
<output>/_contamination.json and <output>/export/<lang>/ in the BEIR/MTEB file layout; the whole
folder is replaced atomically. Splits are by leak-free units (faqmine.build_benchmarks.units); see
faqmine.spark.build_benchmarks for the rules.
"""

import sys

from faqmine.spark.build_benchmarks import BuildBenchmarks

main = BuildBenchmarks().main  # main(argv) -> exit code, for callers in Python

if __name__ == "__main__":
    sys.exit(main())

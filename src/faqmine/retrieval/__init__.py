"""Retrieval evaluation and fine-tuning of dense retrievers on faqmine's datasets.

Pure functions and small objects used by the entry points under `training/`:
BM25 (`bm25`, with `faqmine.search.lexical`'s tokeniser), dense search with faiss (`dense`), reciprocal
rank fusion (`fusion`), trec_eval metrics (`metrics`), bootstrap confidence intervals and
paired comparisons (`bootstrap`), readers of the benchmarks, bitext and hard_negatives
datasets (`datasets`), evaluation tasks (`tasks`), run configuration (`config`), the
sentence-transformers training recipe (`train`) and the report (`report`).
"""

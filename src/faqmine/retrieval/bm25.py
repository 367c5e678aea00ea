"""BM25 retrieval over one pool of documents with bm25s, tokenised by `faqmine.search.lexical.tokenize`.

The tokeniser is the one hard-negative mining uses: words, and character bigrams for scripts written
without spaces (it follows each word's script, so a pool mixing languages needs no language tags).

A run is `{query_id: {doc_id: score}}` holding each query's top `k` documents (the layout
pytrec_eval and `faqmine.retrieval.fusion` read).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faqmine.search.lexical import tokenize_many

Run = dict[str, dict[str, float]]


class BM25Index:
    """A bm25s index over `doc_texts` (Lucene BM25, k1=1.5, b=0.75, bm25s' defaults)."""

    def __init__(self, doc_ids: Sequence[str], doc_texts: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        import bm25s

        if len(doc_ids) != len(doc_texts):
            raise ValueError(f"{len(doc_ids)} ids but {len(doc_texts)} texts")
        if not doc_ids:
            raise ValueError("cannot index an empty pool")
        self.doc_ids = list(doc_ids)
        self._retriever = bm25s.BM25(k1=k1, b=b)
        self._retriever.index(tokenize_many(doc_texts), show_progress=False)

    def search(self, query_ids: Sequence[str], query_texts: Sequence[str], k: int = 100) -> Run:
        """Top-k documents per query; a query with no term in the vocabulary gets an empty ranking."""
        if not query_ids:
            return {}
        k = min(k, len(self.doc_ids))
        tokens = tokenize_many(query_texts)
        vocab = self._retriever.vocab_dict
        run: Run = {qid: {} for qid in query_ids}
        keep = [i for i, terms in enumerate(tokens) if any(t in vocab for t in terms)]
        if not keep:
            return run
        docs, scores = self._retriever.retrieve([[t for t in tokens[i] if t in vocab] for i in keep], k=k,
                                                show_progress=False, n_threads=0)
        for row, i in enumerate(keep):
            ranking = run[query_ids[i]]
            for idx, score in zip(np.asarray(docs[row]).tolist(), np.asarray(scores[row]).tolist(), strict=True):
                if score > 0:  # bm25s pads with zero-score documents when fewer match
                    ranking[self.doc_ids[idx]] = float(score)
        return run

"""Dense search shared by the stages and the evaluation: the model's prompt for a role, and exact faiss top-k.

Vectors are unit length and searched exactly (`IndexFlatIP`: inner product = cosine), so a
result never depends on index parameters. Encoding itself is `faqmine.embedding.encode.encode_texts`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

QUERY_PROMPTS = ("query",)
DOCUMENT_PROMPTS = ("passage", "document")


def prompt_name(model: SentenceTransformer, role: str) -> str | None:
    """The model's prompt name for `role` ("query" or "document"), or None when it has none."""
    prompts = getattr(model, "prompts", None) or {}
    for name in QUERY_PROMPTS if role == "query" else DOCUMENT_PROMPTS:
        if name in prompts:
            return name
    return None


class ExactIndex:
    """Exact inner-product search over a fixed set of vectors (faiss IndexFlatIP), searched as often as needed."""

    def __init__(self, vectors: np.ndarray) -> None:
        import faiss

        self.size, dim = vectors.shape
        self._index = faiss.IndexFlatIP(dim)
        self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, indices), each (len(queries), min(k, size)); faiss pads missing hits with index -1."""
        kk = min(k, self.size)
        if kk <= 0 or len(queries) == 0:
            return np.zeros((len(queries), max(kk, 0)), np.float32), np.zeros((len(queries), max(kk, 0)), np.int64)
        return self._index.search(np.ascontiguousarray(queries, dtype=np.float32), kk)


def top_k(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, indices), each (len(queries), min(k, len(base))): every query's k nearest vectors of `base`."""
    if len(base) == 0:
        return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
    return ExactIndex(base).search(queries, k)

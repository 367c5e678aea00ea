"""Dense retrieval: embed queries and documents with a sentence-transformers model, search with faiss.

Queries get the model's query prompt and documents its passage/document prompt when the
model defines them (e5: "query: " / "passage: "), the same prompts training used; encoding
and the exact search are the stages' own (faqmine.embedding.encode, faqmine.search.dense).
`EmbeddingCache` embeds each distinct text once per role, however many tasks share it, and
fine-tuned models that kept the base's lowest layers run only their upper ones
(faqmine.embedding.frozen_prefix).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from faqmine.embedding.encode import EncodeConfig, encode_texts
from faqmine.search.dense import prompt_name, top_k

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from faqmine.embedding.frozen_prefix import FrozenPrefix

Run = dict[str, dict[str, float]]


def prompt_text(model: SentenceTransformer, role: str) -> str | None:
    name = prompt_name(model, role)
    return model.prompts[name] if name else None


def encode(model: SentenceTransformer, texts: Sequence[str], role: str, batch_size: int = 64,
           show_progress_bar: bool = False, prefix: FrozenPrefix | None = None) -> np.ndarray:
    """Unit-length float32 vectors, one row per text, with the model's prompt for `role`; through `prefix` (the
    base's stored hidden states) when the model kept the base's lowest layers."""
    config = EncodeConfig(prompt_name=prompt_name(model, role), batch_size=batch_size, max_seq_length=None)
    vectors = prefix.encode(model, texts, config) if prefix is not None else None
    return vectors if vectors is not None else encode_texts(model, texts, config, show_progress_bar=show_progress_bar)


class EmbeddingCache:
    """Vectors of texts by role for one model, each distinct text embedded once (longest texts batched together)."""

    def __init__(self, model: SentenceTransformer, batch_size: int = 64, show_progress_bar: bool = False,
                 prefix: FrozenPrefix | None = None) -> None:
        self.model = model
        self.prefix = prefix
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self._vectors: dict[tuple[str, str], np.ndarray] = {}

    def preload(self, vectors: dict[tuple[str, str], np.ndarray]) -> None:
        """Vectors computed elsewhere (the embed stage's, same model), keyed (role, text): not encoded again."""
        self._vectors.update(vectors)

    def add(self, texts: Sequence[str], role: str) -> None:
        todo = sorted({t for t in texts if (role, t) not in self._vectors})
        if not todo:
            return
        vectors = encode(self.model, todo, role, self.batch_size, self.show_progress_bar, self.prefix)
        for text, vector in zip(todo, vectors, strict=True):
            self._vectors[(role, text)] = vector

    def get_each(self, texts: Sequence[str], roles: Sequence[str]) -> np.ndarray:
        """Vectors of `texts`, each embedded in its own role (a pool or query list mixing questions and answers)."""
        for role in sorted(set(roles)):
            self.add([t for t, r in zip(texts, roles, strict=True) if r == role], role)
        if not texts:
            return np.zeros((0, self.model.get_sentence_embedding_dimension()), dtype=np.float32)
        return np.stack([self._vectors[(r, t)] for t, r in zip(texts, roles, strict=True)])

    def get(self, texts: Sequence[str], role: str) -> np.ndarray:
        self.add(texts, role)
        if not texts:
            return np.zeros((0, self.model.get_sentence_embedding_dimension()), dtype=np.float32)
        return np.stack([self._vectors[(role, t)] for t in texts])

    def __len__(self) -> int:
        return len(self._vectors)


def search(query_ids: Sequence[str], query_vectors: np.ndarray, doc_ids: Sequence[str], doc_vectors: np.ndarray,
           k: int = 100) -> Run:
    """Exact inner-product search of every query against the pool; top-k per query."""
    if not query_ids or not doc_ids:
        return {q: {} for q in query_ids}
    scores, idx = top_k(query_vectors, doc_vectors, k)
    run: Run = {}
    for row, qid in enumerate(query_ids):
        run[qid] = {doc_ids[j]: float(s) for j, s in zip(idx[row].tolist(), scores[row].tolist(), strict=True)
                    if j >= 0}
    return run

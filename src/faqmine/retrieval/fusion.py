"""Reciprocal rank fusion (Cormack, Clarke & Büttcher 2009): sum over runs of 1 / (k + rank).

Fuses ranks, not raw scores, so BM25's unbounded scores and cosine similarities need no
normalisation. A document missing from one run just gets nothing from it.
"""

from __future__ import annotations

from collections.abc import Sequence

Run = dict[str, dict[str, float]]
RRF_K = 60


def ranked(ranking: dict[str, float]) -> list[str]:
    """Document ids by score, best first (ties broken by id so the order is deterministic)."""
    return [doc for doc, _ in sorted(ranking.items(), key=lambda kv: (-kv[1], kv[0]))]


def reciprocal_rank_fusion(runs: Sequence[Run], k: int = RRF_K, depth: int = 100,
                           weights: Sequence[float] | None = None) -> Run:
    """One run whose scores are sum_i w_i / (k + rank_i(d)) over the input runs (ranks from 1), cut to `depth`."""
    if weights is None:
        weights = [1.0] * len(runs)
    if len(weights) != len(runs):
        raise ValueError(f"{len(runs)} runs but {len(weights)} weights")
    fused: Run = {}
    for run, weight in zip(runs, weights, strict=True):
        for qid, ranking in run.items():
            scores = fused.setdefault(qid, {})
            for rank, doc in enumerate(ranked(ranking), start=1):
                scores[doc] = scores.get(doc, 0.0) + weight / (k + rank)
    return {qid: {d: scores[d] for d in ranked(scores)[:depth]} for qid, scores in fused.items()}

"""Exact Jaccard by brute force: the reference that MinHash + LSH banding is measured against."""

from __future__ import annotations

import numpy as np


def brute_force_pairs(sets: list[list[bytes]], threshold: float) -> set[tuple[int, int]]:
    """Every pair (i < j) whose exact Jaccard reaches the threshold: all pairs' intersections at once
    as a sparse incidence product (pairs sharing no shingle have Jaccard 0)."""
    from scipy import sparse

    vocabulary: dict[bytes, int] = {}
    rows, cols = [], []
    for i, doc in enumerate(sets):
        for s in set(doc):
            rows.append(i)
            cols.append(vocabulary.setdefault(s, len(vocabulary)))
    ones = np.ones(len(rows), dtype=np.int32)
    incidence = sparse.csr_matrix((ones, (rows, cols)), shape=(len(sets), len(vocabulary)))
    sizes = np.asarray(incidence.sum(axis=1)).ravel()
    inter = sparse.triu(incidence @ incidence.T, k=1).tocoo()
    union = sizes[inter.row] + sizes[inter.col] - inter.data
    keep = inter.data >= threshold * union
    return set(zip(inter.row[keep].tolist(), inter.col[keep].tolist(), strict=True))

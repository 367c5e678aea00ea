"""Bitext alignment of QA vectors: faiss k-nearest neighbours, mutual best matches, cosine or margin scores.

Inputs are unit-length vectors of the QAs of one site in two languages (x: language a,
y: language b; see faqmine.embedding.encode.qa_vectors), so inner product is cosine.

- Candidates: every pair (i, j) where j is among the k nearest y of x_i or i among the k
  nearest x of y_j.
- Scores: `cosine`, or `margin`, the ratio margin of Artetxe & Schwenk (2019):
  cos(x, y) / ((knn(x) + knn(y)) / 2), where knn(x) is the mean cosine of x's k nearest
  neighbours in the other language. Margin discounts pairs that are close only because
  everything on the site is close (one topic, one template).
- A pair is kept when each side is the other's best candidate under the chosen score
  (ties: smaller index first) and the score reaches the threshold.

The Spark stage (faqmine.spark.align_bitext) runs `neighbour_edges` per chunk pair and then
the same rules as `align` over the union of the chunks' edges, so both give the same pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faqmine.core.options import option
from faqmine.search.dense import top_k

METHODS = ("cosine", "margin")
# Calibrated on the simulator's translation truth with multilingual-e5-small (bench/quality_bitext.py).
DEFAULT_METHOD = "margin"
DEFAULT_THRESHOLDS = {"cosine": 0.78, "margin": 1.0}
DEFAULT_K = 4


@dataclass(frozen=True)
class AlignConfig:
    """Which score decides, the threshold it must reach, and k for candidates and margins."""

    method: str = option(DEFAULT_METHOD, choices=METHODS,
                         help="score that decides: cosine, or ratio margin over the k nearest neighbours")
    threshold: float | None = option(None, help="minimum score of a kept pair (default: " + ", ".join(
        f"{m} {t}" for m, t in DEFAULT_THRESHOLDS.items()) + ", calibrated for the default encoder; recalibrate "
        "with bench/quality_bitext.py for another)")
    k: int = option(DEFAULT_K, help="nearest neighbours for candidates and margins")

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.k < 1:
            raise ValueError(f"k must be at least 1, got {self.k}")

    @property
    def min_score(self) -> float:
        return DEFAULT_THRESHOLDS[self.method] if self.threshold is None else self.threshold


@dataclass
class Edges:
    """Candidate pairs: x index i, y index j, cosine, and which side found them ('a': j in i's top k)."""

    i: np.ndarray
    j: np.ndarray
    cosine: np.ndarray
    side: np.ndarray

    def __len__(self) -> int:
        return len(self.i)


def neighbour_edges(x: np.ndarray, y: np.ndarray, k: int = DEFAULT_K) -> Edges:
    """Each x's k nearest y (side 'a') and each y's k nearest x (side 'b')."""
    sa, ja = top_k(x, y, k)
    sb, ib = top_k(y, x, k)
    ka, kb = ja.shape[1], ib.shape[1]
    return Edges(
        i=np.concatenate([np.repeat(np.arange(len(x)), ka), ib.ravel()]).astype(np.int64),
        j=np.concatenate([ja.ravel(), np.repeat(np.arange(len(y)), kb)]).astype(np.int64),
        cosine=np.concatenate([sa.ravel(), sb.ravel()]).astype(np.float32),
        side=np.array(["a"] * (len(x) * ka) + ["b"] * (len(y) * kb), dtype=object),
    )


@dataclass
class Alignment:
    """Mutual best pairs: indices into x and y, their cosine and margin, and the deciding score."""

    i: np.ndarray
    j: np.ndarray
    cosine: np.ndarray
    margin: np.ndarray
    score: np.ndarray
    method: str

    def __len__(self) -> int:
        return len(self.i)

    def pairs(self) -> list[tuple[int, int]]:
        return list(zip(self.i.tolist(), self.j.tolist(), strict=True))


def _best_per(keys: np.ndarray, other: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Mask of the rows that are the best (highest score, then smallest `other`) for their key."""
    order = np.lexsort((other, -score, keys))
    first = np.ones(len(order), dtype=bool)
    first[1:] = keys[order][1:] != keys[order][:-1]
    mask = np.zeros(len(keys), dtype=bool)
    mask[order[first]] = True
    return mask


def mutual_best(i: np.ndarray, j: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Mask of the candidate rows (i, j) where j is i's best and i is j's best (rows must be distinct pairs)."""
    return _best_per(i, j, score) & _best_per(j, i, score)


def margin_scores(cosine: np.ndarray, knn_x: np.ndarray, knn_y: np.ndarray) -> np.ndarray:
    """Ratio margin: cosine over the mean of both sides' k-nearest-neighbour mean cosines."""
    return (cosine / np.maximum((knn_x + knn_y) / 2.0, 1e-6)).astype(np.float32)


def align(x: np.ndarray, y: np.ndarray, config: AlignConfig = AlignConfig(), *,
          threshold: float | None = None) -> Alignment:
    """Mutual best pairs between x and y under config.method, at or above the threshold.

    `threshold` overrides config's; pass float('-inf') to get every mutual best pair (calibration).
    """
    edges = neighbour_edges(x, y, config.k)
    dim_x, dim_y = len(x), len(y)
    knn_x = np.zeros(dim_x, np.float32)
    knn_y = np.zeros(dim_y, np.float32)
    a, b = edges.side == "a", edges.side == "b"
    if a.any():
        np.add.at(knn_x, edges.i[a], edges.cosine[a])
        knn_x /= np.bincount(edges.i[a], minlength=dim_x).clip(min=1)
    if b.any():
        np.add.at(knn_y, edges.j[b], edges.cosine[b])
        knn_y /= np.bincount(edges.j[b], minlength=dim_y).clip(min=1)
    # distinct candidate pairs (an edge found from both sides appears twice)
    if len(edges):
        _, first = np.unique(edges.i * max(dim_y, 1) + edges.j, return_index=True)
    else:
        first = np.zeros(0, dtype=np.int64)
    i, j, cos = edges.i[first], edges.j[first], edges.cosine[first]
    margin = margin_scores(cos, knn_x[i], knn_y[j])
    score = cos if config.method == "cosine" else margin
    keep = mutual_best(i, j, score)
    floor = config.min_score if threshold is None else threshold
    keep &= score >= floor
    return Alignment(i=i[keep], j=j[keep], cosine=cos[keep], margin=margin[keep], score=score[keep],
                     method=config.method)

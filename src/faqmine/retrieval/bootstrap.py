"""Uncertainty of mean retrieval metrics: bootstrap confidence intervals and paired comparisons.

Queries are the unit resampled (Efron's percentile bootstrap): the interval says how much
the mean would move with another sample of queries like these, which is the uncertainty a
benchmark with few queries per language has. A comparison of two systems is paired: both
are scored on the same queries, the per-query differences are resampled, and the p-value
is that of a two-sided paired randomisation (sign-flip) test on the mean difference.
An evaluation's many estimates on one set of queries (every system, seed and comparison) share
one draw of resamples (`SharedResamples`): each system's resampled means are one matrix product,
and a comparison's are the difference of two systems'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A mean with its bootstrap confidence interval over `n` queries."""

    value: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True)
class Comparison:
    """Mean per-query difference (system minus baseline), its bootstrap interval, and a paired p-value."""

    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int


def _resampled_means(columns: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of every column of a queries x columns matrix under `resamples` draws of the queries with replacement,
    one draw shared by all columns (resamples x columns). A draw is a row of counts, so the means of all columns
    are one matrix product per block of draws."""
    n, width = columns.shape
    means = np.empty((resamples, width), dtype=np.float64)
    block = max(1, 2_000_000 // max(n, 1))  # bounded memory for large query sets
    for start in range(0, resamples, block):
        stop = min(resamples, start + block)
        rows = stop - start
        idx = rng.integers(0, n, size=(rows, n)) + (np.arange(rows) * n)[:, None]
        counts = np.bincount(idx.ravel(), minlength=rows * n).reshape(rows, n).astype(np.float64)
        means[start:stop] = counts @ columns / n
    return means


def _interval(value: float, resampled: np.ndarray, n: int, confidence: float, constant: bool) -> Estimate:
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    if n == 1 or constant:
        return Estimate(value, value, value, n)
    alpha = (1.0 - confidence) / 2
    low, high = np.quantile(resampled, [alpha, 1 - alpha])
    return Estimate(value, float(low), float(high), n)


def bootstrap_ci(values: Sequence[float], resamples: int = DEFAULT_RESAMPLES,
                 confidence: float = DEFAULT_CONFIDENCE, seed: int = 0) -> Estimate:
    """Mean of `values` with a percentile bootstrap interval (NaNs for an empty input)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size < 2 or np.all(x == x[0]):
        return _interval(float(x.mean()) if x.size else float("nan"), x[:0], int(x.size), confidence, True)
    means = _resampled_means(x[:, None], resamples, np.random.default_rng(seed))[:, 0]
    return _interval(float(x.mean()), means, int(x.size), confidence, False)


def sign_flip_p_value(differences: Sequence[float], resamples: int = 10_000, seed: int = 0) -> float:
    """Two-sided p-value of a paired randomisation test: how often a random sign flip of each
    per-query difference gives a mean at least as far from 0 as the observed one. With n <= 16
    queries every flip pattern is enumerated (an exact test)."""
    d = np.asarray(differences, dtype=np.float64)
    if d.size == 0:
        return float("nan")
    observed = abs(d.mean())
    if observed == 0.0:
        return 1.0
    if d.size > 16:
        return float(sign_flip_p_values(d[:, None], resamples, seed)[0])
    signs = ((np.arange(2 ** d.size)[:, None] >> np.arange(d.size)) & 1) * 2 - 1
    flipped = np.abs((signs * d).mean(axis=1))
    return float(np.count_nonzero(flipped >= observed - 1e-12) / len(signs))


def sign_flip_p_values(differences: np.ndarray, resamples: int = 10_000, seed: int = 0) -> np.ndarray:
    """`sign_flip_p_value` of every column of a queries x comparisons matrix, the Monte Carlo sign patterns shared
    by all columns (exact enumeration per column for n <= 16)."""
    d = np.asarray(differences, dtype=np.float64)
    n, width = d.shape
    if n <= 16:
        return np.array([sign_flip_p_value(d[:, j]) for j in range(width)], dtype=np.float64)
    observed = np.abs(d.mean(axis=0))
    total = d.sum(axis=0)
    exceed = np.zeros(width, dtype=np.int64)
    rng = np.random.default_rng(seed)
    block = max(1, 2_000_000 // n)
    for start in range(0, resamples, block):
        rows = min(block, resamples - start)
        plus = rng.integers(0, 2, size=(rows, n), dtype=np.int8).astype(np.float64)
        flipped = np.abs((2.0 * (plus @ d) - total) / n)  # sum of (+1 or -1) * d, as 2 * (sum where +1) - sum
        exceed += np.count_nonzero(flipped >= observed - 1e-12, axis=0)
    p = (exceed + 1) / (resamples + 1)
    p[observed == 0.0] = 1.0
    return p


def paired_comparison(system: Sequence[float], baseline: Sequence[float], resamples: int = DEFAULT_RESAMPLES,
                      confidence: float = DEFAULT_CONFIDENCE, seed: int = 0) -> Comparison:
    """Compare two systems on the same queries (values aligned query by query)."""
    a = np.asarray(system, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values differ in length: {a.shape} vs {b.shape}")
    d = a - b
    ci = bootstrap_ci(d, resamples=resamples, confidence=confidence, seed=seed)
    return Comparison(ci.value, ci.ci_low, ci.ci_high, sign_flip_p_value(d, seed=seed), ci.n)


class SharedResamples:
    """Bootstrap resamples of one set of n queries and of the training runs, shared by every estimate made on them.

    `means(matrix)` gives the resampled means of each column of a queries x columns matrix (every system and seed
    scored on these queries) from one draw of the queries; a paired difference of two columns is then the
    difference of their resampled means, and `pooled` adds the draw of training runs (seeds with replacement,
    one query draw for all seeds so pairs stay paired). One draw for all systems makes the comparisons use common
    random numbers, and makes a whole evaluation's intervals a few matrix products."""

    def __init__(self, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> None:
        self.resamples = resamples
        self._rng = np.random.default_rng(seed)
        self._runs: dict[int, np.ndarray] = {}

    def means(self, matrix: np.ndarray) -> np.ndarray:
        """resamples x columns: the mean of each column under each query draw (call once per set of queries)."""
        return _resampled_means(np.asarray(matrix, dtype=np.float64), self.resamples, self._rng)

    def pooled(self, resampled: np.ndarray) -> np.ndarray:
        """Means over runs drawn with replacement, from the resampled means of each run (resamples x runs)."""
        runs = resampled.shape[1]
        if runs == 1:
            return resampled[:, 0]
        if runs not in self._runs:
            self._runs[runs] = self._rng.integers(0, runs, size=(self.resamples, runs))
        return resampled[np.arange(self.resamples)[:, None], self._runs[runs]].mean(axis=1)


def estimate(values: np.ndarray, resampled: np.ndarray, confidence: float = DEFAULT_CONFIDENCE) -> Estimate:
    """Mean of a queries x runs matrix (or one run's vector) with the percentile interval of its resampled means
    (`SharedResamples.means`, or `.pooled` for several runs); `n` is the number of queries."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    constant = x.size == 0 or bool(np.all(x == x.flat[0]))
    return _interval(float(x.mean()) if x.size else float("nan"), resampled, int(x.shape[0]), confidence, constant)


def bootstrap_ci_seeds(matrix: np.ndarray, resamples: int = DEFAULT_RESAMPLES,
                       confidence: float = DEFAULT_CONFIDENCE, seed: int = 0) -> Estimate:
    """Mean of a seeds x queries matrix with a percentile interval from a bootstrap that resamples both the
    seeds (training runs) and the queries: the interval covers what another set of training runs, scored on
    another sample of queries like these, would give. One seed reduces it to `bootstrap_ci`. `n` is the
    number of queries."""
    x = np.asarray(matrix, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a seeds x queries matrix, got shape {x.shape}")
    if x.shape[0] == 1:
        return bootstrap_ci(x[0], resamples, confidence, seed)
    if x.shape[1] == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    draws = SharedResamples(resamples, seed)
    return estimate(x.T, draws.pooled(draws.means(x.T)), confidence)

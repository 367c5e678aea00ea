"""Uncertainty of mean retrieval metrics: bootstrap confidence intervals and paired comparisons.

Queries are the unit resampled (Efron's percentile bootstrap): the interval says how much
the mean would move with another sample of queries like these, which is the uncertainty a
benchmark with few queries per language has. A comparison of two systems is paired: both
are scored on the same queries, the per-query differences are resampled, and the p-value
is that of a two-sided paired randomisation (sign-flip) test on the mean difference.
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


def _resampled_means(values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    n = len(values)
    means = np.empty(resamples, dtype=np.float64)
    chunk = max(1, 2_000_000 // max(n, 1))  # bounded memory for large query sets
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = values[idx].mean(axis=1)
    return means


def bootstrap_ci(values: Sequence[float], resamples: int = DEFAULT_RESAMPLES,
                 confidence: float = DEFAULT_CONFIDENCE, seed: int = 0) -> Estimate:
    """Mean of `values` with a percentile bootstrap interval (NaNs for an empty input)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    if x.size == 1 or np.all(x == x[0]):
        return Estimate(float(x.mean()), float(x.mean()), float(x.mean()), int(x.size))
    means = _resampled_means(x, resamples, np.random.default_rng(seed))
    alpha = (1.0 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Estimate(float(x.mean()), float(low), float(high), int(x.size))


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
    if d.size <= 16:
        signs = ((np.arange(2 ** d.size)[:, None] >> np.arange(d.size)) & 1) * 2 - 1
    else:
        signs = np.random.default_rng(seed).choice(np.array([-1.0, 1.0]), size=(resamples, d.size))
    flipped = np.abs((signs * d).mean(axis=1))
    exceed = np.count_nonzero(flipped >= observed - 1e-12)
    if d.size <= 16:
        return float(exceed / len(signs))
    return float((exceed + 1) / (resamples + 1))


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


def _seed_query_means(matrix: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of `resamples` two-level resamples of a seeds x queries matrix: seeds drawn with replacement,
    queries drawn with replacement (the same query draw for every seed of a resample, so pairs stay paired)."""
    s, n = matrix.shape
    means = np.empty(resamples, dtype=np.float64)
    chunk = max(1, 2_000_000 // max(n * s, 1))
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        q = rng.integers(0, n, size=(stop - start, n))
        per_seed = matrix[:, q].mean(axis=2)  # seeds x resamples
        picked = rng.integers(0, s, size=(stop - start, s))
        means[start:stop] = per_seed[picked, np.arange(stop - start)[:, None]].mean(axis=1)
    return means


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
    if x.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    mean = float(x.mean())
    if np.all(x == x.flat[0]):
        return Estimate(mean, mean, mean, int(x.shape[1]))
    means = _seed_query_means(x, resamples, np.random.default_rng(seed))
    alpha = (1.0 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Estimate(mean, float(low), float(high), int(x.shape[1]))

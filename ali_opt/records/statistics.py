"""Statistics over seeds: bootstrap intervals of a mean, permutation tests between two
entries, and Holm's correction for a family of tests.

**Interval of a mean.** :func:`mean_interval` gives the mean over seeds and its 95%
*percentile* bootstrap interval (:func:`scipy.stats.bootstrap`, 9999 resamples, a fixed
seed, so the same values always give the same interval). Percentile rather than BCa: BCa
needs a jackknife estimate of the skew, which with 2 to 5 seeds is degenerate (NaN or a
warning) as often as not; the percentile interval is always defined. With that few seeds
any bootstrap interval is too narrow (it cannot reach beyond the observed seeds), so read it
as a description of the seeds, not as a guarantee. With one seed, or seeds that all agree,
the interval is the value itself (no spread was observed; nothing is claimed about it).

**Difference between two entries.** :func:`permutation_p` is the two-sided p-value of a
permutation test of the difference of means (:func:`scipy.stats.permutation_test`, the two
samples' values reassigned between them). It is exact (every split enumerated) up to
:data:`EXACT_LIMIT` splits, else from :data:`PERMUTATION_RESAMPLES` random splits with a
fixed seed. The exact test cannot give a p-value below :func:`min_permutation_p`:
``2 / C(n_a + n_b, n_a)``, which is 0.1 at 3 vs 3 seeds, so at 3 seeds no difference can be
declared at the 0.05 level however large it is.

**Many pairs.** :func:`holm` adjusts a family of p-values (Holm 1979, step-down: the i-th
smallest of m multiplied by m - i + 1, made monotone); :func:`compare_pairs` tests every
pair of entries and gives each a verdict: ``separated`` when its Holm-adjusted p is below
:data:`ALPHA`, else ``not separated at n seeds``.
"""
from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
"""Coverage of the bootstrap intervals."""

BOOTSTRAP_RESAMPLES = 9999
PERMUTATION_RESAMPLES = 99999
EXACT_LIMIT = 200_000
"""Permutation tests enumerate every split of the two samples up to this many splits."""

SEED = 0
"""Seed of the resampling: the same values always give the same intervals and p-values."""

ALPHA = 0.05
"""Family-wise error rate of the pairwise verdicts (after Holm's correction)."""


@dataclass(frozen=True)
class Interval:
    """Mean over ``n`` finite values and its bootstrap interval [``low``, ``high``] (NaN when n = 0)."""

    mean: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Comparison:
    """Two entries' samples compared: raw and Holm-adjusted p-values, and the verdict."""

    a: str
    b: str
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    p: float
    p_holm: float
    min_p: float
    verdict: str


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """The mean of the finite ``values`` and its percentile bootstrap interval (see the module
    docstring); the interval is the mean itself for one value or equal values, NaN for none."""
    finite = _finite(values)
    if not len(finite):
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(np.mean(finite))
    low, high = bootstrap_interval(finite, confidence)
    return Interval(mean, low, high, len(finite))


def bootstrap_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of the finite ``values``."""
    low, high = bootstrap_intervals(np.asarray(_finite(values))[:, None], confidence)
    return float(low[0]), float(high[0])


def bootstrap_intervals(samples: np.ndarray, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Per column of ``samples`` (rows: seeds), the percentile bootstrap interval of the mean
    over the column's finite values; one value or equal values: that value; none: NaN."""
    samples = np.asarray(samples, dtype=float)
    low, high = np.full(samples.shape[1], np.nan), np.full(samples.shape[1], np.nan)
    for column in range(samples.shape[1]):
        values = samples[:, column][np.isfinite(samples[:, column])]
        if len(values) and np.ptp(values) == 0:
            low[column] = high[column] = np.mean(values)
        elif len(values):
            result = stats.bootstrap((values,), np.mean, confidence_level=confidence, method="percentile",
                                     n_resamples=BOOTSTRAP_RESAMPLES, vectorized=True, **_rng(stats.bootstrap))
            low[column], high[column] = result.confidence_interval
    return low, high


def permutation_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of a permutation test of mean(a) - mean(b) over the finite values;
    exact up to :data:`EXACT_LIMIT` splits; NaN when either sample is empty."""
    a, b = _finite(a), _finite(b)
    if not len(a) or not len(b):
        return math.nan
    exact = math.comb(len(a) + len(b), len(a)) <= EXACT_LIMIT
    if min(len(a), len(b)) == 1:  # SciPy wants two values a side; n + 1 splits are few enough to list here
        return _exact_p(a, b)
    result = stats.permutation_test((a, b), _difference_of_means, permutation_type="independent", vectorized=True,
                                    n_resamples=np.inf if exact else PERMUTATION_RESAMPLES, alternative="two-sided",
                                    **_rng(stats.permutation_test))
    return float(result.pvalue)


def min_permutation_p(n_a: int, n_b: int) -> float:
    """The smallest two-sided p-value a permutation test of ``n_a`` vs ``n_b`` values can give:
    ``2 / C(n_a + n_b, n_a)`` when exact (1 when it exceeds 1), else ``2 / (resamples + 1)``."""
    if n_a < 1 or n_b < 1:
        return math.nan
    splits = math.comb(n_a + n_b, n_a)
    return min(1.0, 2 / splits if splits <= EXACT_LIMIT else 2 / (PERMUTATION_RESAMPLES + 1))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of the family ``pvalues`` (NaN ones are left out of the
    family and stay NaN), in the order given."""
    family = [(p, index) for index, p in enumerate(pvalues) if not math.isnan(p)]
    adjusted = [math.nan] * len(pvalues)
    running = 0.0
    for rank, (p, index) in enumerate(sorted(family)):
        running = max(running, min(1.0, (len(family) - rank) * p))
        adjusted[index] = running
    return adjusted


def verdict(p_holm: float, n_a: int, n_b: int, alpha: float = ALPHA) -> str:
    """``separated`` when ``p_holm`` < ``alpha``; else ``not separated at n seeds`` (``n_a vs
    n_b`` when they differ); ``not compared`` without seeds on both sides."""
    if math.isnan(p_holm):
        return "not compared: no seeds on one side"
    if p_holm < alpha:
        return "separated"
    return f"not separated at {n_a if n_a == n_b else f'{n_a} vs {n_b}'} seeds"


def compare_pairs(samples: Mapping[str, Sequence[float]], alpha: float = ALPHA) -> list[Comparison]:
    """Every pair of entries of ``samples`` (entry: its per-seed values), in order, tested by
    :func:`permutation_p`, the family of all pairs adjusted by :func:`holm`."""
    pairs = list(itertools.combinations(samples, 2))
    finite = {entry: _finite(values) for entry, values in samples.items()}
    raw = [permutation_p(finite[a], finite[b]) for a, b in pairs]
    comparisons = []
    for (a, b), p, p_holm in zip(pairs, raw, holm(raw)):
        n_a, n_b = len(finite[a]), len(finite[b])
        comparisons.append(Comparison(a, b, n_a, n_b, _mean(finite[a]), _mean(finite[b]), p, p_holm,
                                      min_permutation_p(n_a, n_b), verdict(p_holm, n_a, n_b, alpha)))
    return comparisons


def _exact_p(a: np.ndarray, b: np.ndarray) -> float:
    """The exact two-sided p-value as :func:`scipy.stats.permutation_test` computes it (twice
    the smaller one-sided p, at most 1; ties within a relative tolerance count as reached)."""
    pooled = np.concatenate([a, b])
    observed = np.mean(a) - np.mean(b)
    null = np.array([np.mean(pooled[list(chosen)]) - np.mean(np.delete(pooled, list(chosen)))
                     for chosen in itertools.combinations(range(len(pooled)), len(a))])
    tolerance = 1e-14 * max(abs(observed), 1e-300)
    p_greater = np.mean(null >= observed - tolerance)
    p_less = np.mean(null <= observed + tolerance)
    return float(min(1.0, 2 * min(p_greater, p_less)))


def _difference_of_means(a, b, axis):
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def _finite(values: Sequence[float]) -> np.ndarray:
    values = np.asarray(values, dtype=float).ravel()
    return values[np.isfinite(values)]


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def _rng(function) -> dict:
    """A fixed-seed generator, under the keyword this SciPy takes (``rng`` from 1.15, before
    that ``random_state``)."""
    keyword = "rng" if "rng" in inspect.signature(function).parameters else "random_state"
    return {keyword: np.random.default_rng(SEED)}

"""Statistics over seeds: intervals of a mean and of a difference, permutation, equivalence
and power calculations between two entries, Holm's correction for a family of tests, and the
verdicts built from them.

**Interval of a mean.** :func:`mean_interval` gives the mean over seeds and its 95%
*percentile* bootstrap interval (:func:`scipy.stats.bootstrap`, 9999 resamples, a fixed
seed, so the same values always give the same interval). Percentile rather than BCa: BCa
needs a jackknife estimate of the skew, which with 2 to 5 seeds is degenerate (NaN or a
warning) as often as not; the percentile interval is always defined. With that few seeds
any bootstrap interval is too narrow (it cannot reach beyond the observed seeds; about 85%
coverage for a nominal 95% at 5 normal seeds), so read it as a description of the seeds,
not as a guarantee. With one seed, or seeds that all agree, the interval is the value itself
(no spread was observed; nothing is claimed about it). :func:`mean_t_interval` gives the t
interval instead, mean +- t_{n-1} sd/sqrt(n) (sd with ddof 1; Student 1908): exact for normal
seeds at any n, so it is the one stated beside verdicts (the two-stage study's outcomes).

**Difference between two entries, unpaired.** :func:`permutation_p` is the two-sided
p-value of a permutation test of the difference of means (:func:`scipy.stats.permutation_test`,
the two samples' values reassigned between them). It is exact (every split enumerated) up to
:data:`EXACT_LIMIT` splits, else from :data:`PERMUTATION_RESAMPLES` random splits with a
fixed seed. The exact test cannot give a p-value below :func:`min_permutation_p`:
``2 / C(n_a + n_b, n_a)``, which is 0.1 at 3 vs 3 seeds, so at 3 seeds no difference can be
declared at the 0.05 level however large it is.

**Difference between two entries, paired.** When both entries ran the same seeds (seed i of
A starts from the same networks and data order as seed i of B), the per-seed differences
d_i = a_i - b_i carry the comparison. :func:`paired_permutation_p` is the exact sign-flip
test (Fisher 1935; Good, *Permutation, Parametric and Bootstrap Tests of Hypotheses*, 2005,
sec. 3.7): under the null hypothesis each d_i is as likely to be -d_i, so each of the 2^n
sign patterns s gives an equally likely mean (1/n) sum_i s_i d_i, and

    p = #{s : |mean(s d)| >= |mean(d)|} / 2^n

(the observed pattern included, ties within a relative tolerance counted as reached). Its
smallest value is :func:`min_paired_permutation_p`, ``2 / 2^n``: 0.0625 at 5 seeds,
0.0078 at 8. A p-value that small needs every d_i on the same side, but a p below 0.05 does
not: at 8 seeds with one d_i against the others, p can be as low as 4/256 = 0.016.

**Interval of the difference.** :func:`difference_interval` gives the difference of means
and its 95% t interval: on the per-seed differences when paired (mean(d) +- t_{n-1}
sd(d)/sqrt(n)), else Welch's interval (mean(a) - mean(b) +- t_nu sqrt(s_a^2/n_a +
s_b^2/n_b), nu from the Welch-Satterthwaite equation; Welch 1947). Both cover near their
nominal level for normal seeds even at n = 8, where a percentile bootstrap does not (a test
measures it by simulation).

**Equivalence.** :func:`equivalence_p` is the two one-sided tests procedure (TOST; Schuirmann
1987) against the margin m: with the difference D, its standard error se and degrees of
freedom nu as above, p_lower = P(T_nu >= (D + m)/se) tests D <= -m, p_upper = P(T_nu <= (D -
m)/se) tests D >= m, and p = max(p_lower, p_upper). A p below alpha says the true difference
lies within +-m.

**Power.** :func:`min_detectable_difference` is the smallest true difference that the
two-sided t test at level alpha (on the same paired or Welch statistic) detects with the
given power, taking the observed spread as the true one: the non-centrality delta solving
P(|T'| > t_{1-alpha/2, nu}) = power for T' ~ noncentral t(nu, delta), exactly (SciPy's
:data:`scipy.stats.nct`, solved by Brent's method), times se. Paired, this is the t test's exact
power; Welch's is approximate, as its nu is estimated (about 1 point short of the stated
power at 8 seeds, by simulation). The permutation tests have about
the t test's power on normal seeds, but never more than their smallest reachable p allows.

**Many pairs.** :func:`holm` adjusts a family of p-values (Holm 1979, step-down: the i-th
smallest of m multiplied by m - i + 1, made monotone). :func:`compare_pairs` tests every
pair of entries (unpaired) and gives each a verdict: ``separated`` when its Holm-adjusted p is
below :data:`ALPHA`, else ``not separated at n seeds``. A family of m pairs can separate a
pair only where the smallest reachable p is below ALPHA / m (Holm's first step): with 3
pairs, 0.0167, which 5 paired seeds (0.0625) cannot reach and 8 (0.0078) can.
:func:`compare_pairs_fully` gives each pair all of the above, and a verdict that states
which entry is better, or that they are equivalent within the margin, or that the seeds
cannot tell (:func:`pair_verdict`).
"""
from __future__ import annotations

import dataclasses
import inspect
import itertools
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from ..errors import ConfigError, check_positive

CONFIDENCE = 0.95
"""Coverage of the intervals: the bootstrap interval of a mean, the t interval of a difference."""

BOOTSTRAP_RESAMPLES = 9999
PERMUTATION_RESAMPLES = 99999
EXACT_LIMIT = 200_000
"""Permutation tests enumerate every split of the two samples (every sign pattern of the
paired differences) up to this many."""

TIE_TOLERANCE = 1e-9
"""Relative tolerance (of the mean absolute difference) under which a sign pattern's |mean|
counts as reaching the observed one: equal sums added in another order differ by rounding."""

SEED = 0
"""Seed of the resampling: the same values always give the same intervals and p-values."""

ALPHA = 0.05
"""Family-wise error rate of the pairwise verdicts (after Holm's correction)."""

POWER = 0.8
"""The power at which :func:`min_detectable_difference` states the detectable difference."""

MARGIN_FRACTION = 0.1
"""The default equivalence margin, as a fraction of the outcome's range from the untrained
value to the real-vs-real floor (:func:`equivalence_margin`)."""


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


@dataclass(frozen=True)
class PairComparison(Comparison):
    """A :class:`Comparison` with everything :func:`compare_pairs_fully` states about the pair:
    whether the seeds were paired, the difference of means (A - B) and its interval, the
    equivalence p-values against ``margin`` (raw and Holm-adjusted over the pairs) and the
    smallest difference detectable with :data:`POWER` power. ``p`` and ``min_p`` are those of
    the paired test when ``paired``, else of the unpaired one; ``verdict`` is
    :func:`pair_verdict`'s."""

    paired: bool
    difference: float
    difference_low: float
    difference_high: float
    p_equivalence: float
    p_equivalence_holm: float
    margin: float
    min_detectable_difference: float


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """The mean of the finite ``values`` and its percentile bootstrap interval (see the module
    docstring); the interval is the mean itself for one value or equal values, NaN for none."""
    finite = finite_values(values)
    if not len(finite):
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(np.mean(finite))
    low, high = bootstrap_interval(finite, confidence)
    return Interval(mean, low, high, len(finite))


def mean_t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """The mean of the finite ``values`` and its t interval (module docstring): the interval of
    :func:`difference_interval` against zero, paired. Seeds that all agree: the mean itself;
    one value: NaN bounds (no spread can be estimated); none: NaN."""
    finite = finite_values(values)
    mean, low, high = difference_interval(finite, np.zeros(len(finite)), paired=True, confidence=confidence)
    return Interval(mean, low, high, len(finite))


def bootstrap_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of the finite ``values``."""
    low, high = bootstrap_intervals(np.asarray(finite_values(values))[:, None], confidence)
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
    a, b = finite_values(a), finite_values(b)
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
    finite = {entry: finite_values(values) for entry, values in samples.items()}
    raw = [permutation_p(finite[a], finite[b]) for a, b in pairs]
    comparisons = []
    for (a, b), p, p_holm in zip(pairs, raw, holm(raw)):
        n_a, n_b = len(finite[a]), len(finite[b])
        comparisons.append(Comparison(a, b, n_a, n_b, _mean(finite[a]), _mean(finite[b]), p, p_holm,
                                      min_permutation_p(n_a, n_b), verdict(p_holm, n_a, n_b, alpha)))
    return comparisons


def paired_permutation_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the exact sign-flip test of the per-seed differences ``a[i] -
    b[i]`` (pairs with a non-finite value left out; see the module docstring): the fraction
    of the 2^n sign patterns whose |mean| reaches the observed one, the observed pattern
    included. Above :data:`EXACT_LIMIT` patterns, :data:`PERMUTATION_RESAMPLES` random patterns
    with a fixed seed, p = (1 + reached) / (1 + resamples). NaN without a complete pair."""
    d = _differences(a, b)
    if not len(d):
        return math.nan
    if 2 ** len(d) <= EXACT_LIMIT:
        bits = (np.arange(2 ** len(d))[:, None] >> np.arange(len(d))) & 1
        signs = 1.0 - 2.0 * bits
    else:
        signs = np.random.default_rng(SEED).choice([-1.0, 1.0], size=(PERMUTATION_RESAMPLES, len(d)))
    means = np.abs(signs @ d) / len(d)
    reached = np.sum(means >= abs(np.mean(d)) - TIE_TOLERANCE * np.mean(np.abs(d)))
    if 2 ** len(d) <= EXACT_LIMIT:
        return float(reached / len(signs))
    return float((1 + reached) / (1 + len(signs)))


def min_paired_permutation_p(n: int) -> float:
    """The smallest two-sided p-value :func:`paired_permutation_p` can give at ``n`` pairs:
    ``2 / 2^n`` when exact (1 at one pair), else ``2 / (resamples + 1)``; NaN for none."""
    if n < 1:
        return math.nan
    return min(1.0, 2 / 2 ** n if 2 ** n <= EXACT_LIMIT else 2 / (PERMUTATION_RESAMPLES + 1))


def difference_interval(a: Sequence[float], b: Sequence[float], paired: bool,
                        confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """``(difference, low, high)``: mean(a) - mean(b) (paired: the mean of the per-seed
    differences) and its t interval, paired or Welch's (module docstring). Zero spread gives
    the difference itself; fewer than 2 values (pairs) a side gives NaN bounds."""
    difference, error, df = _difference_and_error(a, b, paired)
    if not math.isfinite(error):
        return difference, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * error if error > 0 else 0.0
    return difference, difference - half, difference + half


def equivalence_p(a: Sequence[float], b: Sequence[float], margin: float, paired: bool) -> float:
    """The TOST p-value (module docstring) that the true difference mean(a) - mean(b) lies
    within +-``margin``: the larger of the two one-sided t tests' p-values. With zero spread,
    0 when the observed difference is within the margin, else 1; NaN with fewer than 2 values
    (pairs) a side. Raises :class:`ConfigError` for a margin that is not positive."""
    check_positive("equivalence_margin", margin)
    difference, error, df = _difference_and_error(a, b, paired)
    if not math.isfinite(error):
        return math.nan
    if error == 0:
        return 0.0 if abs(difference) < margin else 1.0
    p_lower = stats.t.sf((difference + margin) / error, df)
    p_upper = stats.t.cdf((difference - margin) / error, df)
    return float(max(p_lower, p_upper))


def min_detectable_difference(a: Sequence[float], b: Sequence[float], paired: bool, power: float = POWER,
                              alpha: float = ALPHA) -> float:
    """The smallest true |mean(a) - mean(b)| that a two-sided t test at level ``alpha``
    detects with probability ``power`` at these seeds, the observed spread taken as the true
    one (exact noncentral t; module docstring). Under Holm, pass the level the pair must
    reach (ALPHA / m at the first step). 0 with zero spread; NaN with fewer than 2 values
    (pairs) a side."""
    if not alpha < power < 1 or not 0 < alpha < 1:
        raise ConfigError(f"power={power!r}, alpha={alpha!r} are not valid; they must satisfy 0 < alpha < power < 1")
    _, error, df = _difference_and_error(a, b, paired)
    if not math.isfinite(error):
        return math.nan
    if error == 0:
        return 0.0
    critical = stats.t.ppf(1 - alpha / 2, df)

    def shortfall(noncentrality: float) -> float:
        return stats.nct.sf(critical, df, noncentrality) + stats.nct.cdf(-critical, df, noncentrality) - power

    high = critical + stats.norm.ppf(power) + 1.0
    while shortfall(high) < 0:
        high *= 2
    return float(optimize.brentq(shortfall, 0.0, high, xtol=1e-10) * error)


def equivalence_margin(untrained: float, floor: float, fraction: float = MARGIN_FRACTION) -> float:
    """The default equivalence margin: ``fraction`` of the outcome's range |untrained - floor|
    (the untrained model's value to the real-vs-real floor); NaN when either is not finite."""
    check_positive("equivalence_fraction", fraction)
    return fraction * abs(untrained - floor) if math.isfinite(untrained) and math.isfinite(floor) else math.nan


def pair_verdict(a: str, b: str, comparison: PairComparison, lower_is_better: bool = True,
                 alpha: float = ALPHA) -> str:
    """The verdict on a pair, from its Holm-adjusted p-values: ``<a> better`` or ``<b> better``
    when the difference test separates them (the better one by ``lower_is_better``); else
    ``equivalent within ±m`` when the equivalence test does; else ``inconclusive at n seeds``
    (``n_a vs n_b`` when they differ); ``not compared`` without seeds on both sides."""
    if math.isnan(comparison.p_holm):
        return "not compared: no seeds on one side"
    if comparison.p_holm < alpha:
        a_lower = comparison.difference < 0
        return f"{a if a_lower == lower_is_better else b} better"
    if comparison.p_equivalence_holm < alpha:
        return f"equivalent within ±{comparison.margin:.3g}"
    n_a, n_b = comparison.n_a, comparison.n_b
    return f"inconclusive at {n_a if n_a == n_b else f'{n_a} vs {n_b}'} seeds"


def compare_pairs_fully(samples: Mapping[str, Mapping[Hashable, float]], margin: float | None = None,
                        lower_is_better: bool = True, alpha: float = ALPHA) -> list[PairComparison]:
    """Every pair of entries of ``samples`` (entry: its value per seed), in order, as a
    :class:`PairComparison` with :func:`pair_verdict`'s verdict.

    A pair is *paired* when both entries ran the same seeds (equal seed sets): then the seeds
    where both values are finite are compared by the paired permutation test, the paired
    interval and paired t statistics; else each side's finite values by the unpaired ones.
    Holm's correction is applied over the pairs to the difference p-values and, separately,
    to the equivalence p-values. ``margin`` None or NaN: no equivalence test (p NaN). The
    detectable difference is at Holm's first-step level ``alpha / pairs``, and infinite when
    the permutation test's smallest reachable p is not below that level (no difference,
    however large, could separate the pair).
    """
    pairs = list(itertools.combinations(samples, 2))
    fields = [_pair_fields(samples[a], samples[b], margin, alpha / len(pairs)) for a, b in pairs]
    p_holm = holm([pair["p"] for pair in fields])
    p_equivalence_holm = holm([pair["p_equivalence"] for pair in fields])
    comparisons = []
    for (a, b), pair, adjusted, equivalence in zip(pairs, fields, p_holm, p_equivalence_holm):
        comparison = PairComparison(a=a, b=b, p_holm=adjusted, p_equivalence_holm=equivalence, margin=_margin(margin),
                                    verdict="", **pair)
        verdict_of_pair = pair_verdict(a, b, comparison, lower_is_better, alpha)
        comparisons.append(dataclasses.replace(comparison, verdict=verdict_of_pair))
    return comparisons


def _pair_fields(a: Mapping[Hashable, float], b: Mapping[Hashable, float], margin: float | None,
                 level: float) -> dict:
    """The statistics of one pair that need no other pair (see :func:`compare_pairs_fully`)."""
    paired = set(a) == set(b)
    if paired:
        values_a, values_b = np.array([a[seed] for seed in a], float), np.array([b[seed] for seed in a], float)
        complete = np.isfinite(values_a) & np.isfinite(values_b)
        values_a, values_b = values_a[complete], values_b[complete]
        n_a = n_b = len(values_a)
        p, min_p = paired_permutation_p(values_a, values_b), min_paired_permutation_p(n_a)
    else:
        values_a, values_b = finite_values(list(a.values())), finite_values(list(b.values()))
        n_a, n_b = len(values_a), len(values_b)
        p, min_p = permutation_p(values_a, values_b), min_permutation_p(n_a, n_b)
    difference, low, high = difference_interval(values_a, values_b, paired)
    equivalence = math.nan if math.isnan(_margin(margin)) else equivalence_p(values_a, values_b, margin, paired)
    detectable = min_detectable_difference(values_a, values_b, paired, alpha=level) if min_p < level else math.inf
    return dict(n_a=n_a, n_b=n_b, mean_a=_mean(values_a), mean_b=_mean(values_b), p=p, min_p=min_p, paired=paired,
                difference=difference, difference_low=low, difference_high=high, p_equivalence=equivalence,
                min_detectable_difference=detectable)


def _margin(margin: float | None) -> float:
    return math.nan if margin is None else float(margin)


def _difference_and_error(a: Sequence[float], b: Sequence[float], paired: bool) -> tuple[float, float, float]:
    """The difference of means, its standard error and the t statistic's degrees of freedom:
    paired, sd(d) / sqrt(n) on n - 1; else Welch's sqrt(s_a^2/n_a + s_b^2/n_b) on the
    Welch-Satterthwaite nu. The error is NaN with fewer than 2 values (pairs) a side."""
    if paired:
        d = _differences(a, b)
        if len(d) < 2:
            return _mean(d), math.nan, math.nan
        return float(np.mean(d)), float(np.std(d, ddof=1) / math.sqrt(len(d))), len(d) - 1.0
    a, b = finite_values(a), finite_values(b)
    difference = _mean(a) - _mean(b)
    if len(a) < 2 or len(b) < 2:
        return difference, math.nan, math.nan
    share_a, share_b = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    error = math.sqrt(share_a + share_b)
    if error == 0:
        return difference, 0.0, len(a) + len(b) - 2.0
    df = (share_a + share_b) ** 2 / (share_a ** 2 / (len(a) - 1) + share_b ** 2 / (len(b) - 1))
    return difference, error, float(df)


def _differences(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    """``a[i] - b[i]`` over the pairs where both are finite; ValueError for unequal lengths."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if len(a) != len(b):
        raise ValueError(f"paired samples must have one value per seed on each side, got {len(a)} and {len(b)}")
    keep = np.isfinite(a) & np.isfinite(b)
    return a[keep] - b[keep]


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


def finite_values(values: Sequence[float]) -> np.ndarray:
    """The finite values of ``values``, flattened, as floats."""
    values = np.asarray(values, dtype=float).ravel()
    return values[np.isfinite(values)]


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def _rng(function) -> dict:
    """A fixed-seed generator, under the keyword this SciPy takes (``rng`` from 1.15, before
    that ``random_state``)."""
    keyword = "rng" if "rng" in inspect.signature(function).parameters else "random_state"
    return {keyword: np.random.default_rng(SEED)}

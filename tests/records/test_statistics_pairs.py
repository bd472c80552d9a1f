"""The paired permutation test, the interval of a difference, the equivalence test, the
detectable difference and the verdicts on pairs: against hand computations, closed forms and
simulations."""
from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from ali_opt.errors import ConfigError
from ali_opt.records.statistics import (compare_pairs, compare_pairs_fully, difference_interval, equivalence_margin,
                                        equivalence_p, holm, min_detectable_difference, min_paired_permutation_p,
                                        paired_permutation_p, permutation_p)


@pytest.mark.parametrize("a, b, p", [
    ([1, 2, 3], [0, 0, 0], 2 / 8),  # all 3 differences positive: only all-plus and all-minus reach |sum| 6
    ([3, 1, -1], [0, 0, 0], 6 / 8),  # sums +-3+-1+-1: |sum| in {5, 3, 3, 1}, each twice; 3 of 4 reach 3
    ([1] * 7 + [-0.5], [0] * 8, 4 / 256),  # one seed against the others: 7 - 0.5, 7 + 0.5 and their mirrors
    ([0.3, 0.2], [0.3, 0.2], 1.0),  # no difference at all
    ([1, 2, math.nan], [0, 0, 5], 2 / 4),  # the incomplete pair is left out: d = (1, 2)
])
def test_paired_permutation_p_is_exact_on_known_data(a, b, p):
    assert paired_permutation_p(a, b) == pytest.approx(p, rel=1e-12)


def test_paired_p_counts_float_ties_like_exact_arithmetic():
    """Decimal differences make many equal sums that floats add up differently; the p-value must
    count them as ties, as exact rational arithmetic does."""
    d = [Fraction(value) / 10 for value in (1, 2, 3, 4, 5, -6, 7)]
    observed = abs(sum(d))
    exact = sum(abs(sum(s * x for s, x in zip(signs, d))) >= observed
                for signs in itertools.product((1, -1), repeat=len(d))) / 2 ** len(d)
    assert 0.05 < exact < 1
    assert paired_permutation_p([float(x) for x in d], [0.0] * len(d)) == pytest.approx(exact, rel=1e-12)


def test_paired_p_wants_one_value_per_seed_a_side():
    with pytest.raises(ValueError, match="one value per seed"):
        paired_permutation_p([1, 2, 3], [1, 2])
    assert math.isnan(paired_permutation_p([math.nan], [1.0]))


def test_smallest_reachable_paired_p():
    assert min_paired_permutation_p(5) == pytest.approx(1 / 16)
    assert min_paired_permutation_p(8) == pytest.approx(2 / 256)
    assert min_paired_permutation_p(1) == 1.0 and math.isnan(min_paired_permutation_p(0))
    assert paired_permutation_p(np.arange(1, 9), np.zeros(8)) == pytest.approx(min_paired_permutation_p(8))


def test_difference_interval_by_hand():
    # Paired: d = (1, 2, 3): mean 2, sd 1, standard error 1/sqrt(3), on 2 degrees of freedom.
    difference, low, high = difference_interval([2, 4, 6], [1, 2, 3], paired=True)
    half = stats.t.ppf(0.975, 2) / math.sqrt(3)
    assert (difference, low, high) == pytest.approx((2, 2 - half, 2 + half))
    # Welch: variances 1 and 3 over 3 seeds: shares 1/3 and 1, error sqrt(4/3),
    # nu = (4/3)^2 / ((1/3)^2/2 + 1^2/2) = 3.2.
    difference, low, high = difference_interval([1, 2, 3], [0, 0, 3], paired=False)
    half = stats.t.ppf(0.975, 3.2) * math.sqrt(4 / 3)
    assert (difference, low, high) == pytest.approx((1, 1 - half, 1 + half))
    welch = stats.ttest_ind([1, 2, 3], [0, 0, 3], equal_var=False).confidence_interval()
    assert (low, high) == pytest.approx((welch.low, welch.high))


def test_difference_interval_without_spread_or_seeds():
    assert difference_interval([1.0, 2.0], [0.5, 1.5], paired=True) == (0.5, 0.5, 0.5)
    difference, low, high = difference_interval([1.0], [0.0, 2.0], paired=False)
    assert difference == 0 and math.isnan(low) and math.isnan(high)


@pytest.mark.parametrize("paired", [True, False])
def test_difference_interval_covers_at_eight_normal_seeds(paired):
    """4000 simulated studies of 8 seeds a side (paired: a seed effect shared by both sides;
    unpaired: unequal spreads): the 95% interval must cover the true difference 0.3 in at
    least 93% of them (the simulation's standard error is 0.34 points)."""
    rng = np.random.default_rng(20261207)
    studies, seeds, truth = 4000, 8, 0.3
    if paired:
        shared = rng.normal(0, 2, (studies, seeds))
        a = shared + truth + rng.normal(0, 0.5, (studies, seeds))
        b = shared + rng.normal(0, 1.0, (studies, seeds))
    else:
        a, b = truth + rng.normal(0, 0.5, (studies, seeds)), rng.normal(0, 2.0, (studies, seeds))
    covered = [low <= truth <= high for _, low, high in (difference_interval(x, y, paired) for x, y in zip(a, b))]
    assert np.mean(covered) >= 0.93


def test_equivalence_p_by_hand():
    # Paired: d = (1, 2, 2): D = 5/3, sd = 1/sqrt(3), error 1/3, 2 degrees of freedom. Margin 3:
    # t_upper = (5/3 - 3) / (1/3) = -4; the t distribution on 2 degrees of freedom has the closed
    # form cdf(t) = 1/2 + t / (2 sqrt(2 + t^2)); t_lower = (5/3 + 3) / (1/3) = 14 is far smaller in p.
    p = equivalence_p([1, 2, 3], [0, 0, 1], margin=3, paired=True)
    assert p == pytest.approx(0.5 - 4 / (2 * math.sqrt(18)), rel=1e-9)
    # Welch (shares 1/3 and 1, error sqrt(4/3), nu 3.2), D = 1, margin 2: the upper test decides.
    error = math.sqrt(4 / 3)
    expected = max(stats.t.sf((1 + 2) / error, 3.2), stats.t.cdf((1 - 2) / error, 3.2))
    assert equivalence_p([1, 2, 3], [0, 0, 3], margin=2, paired=False) == pytest.approx(expected, rel=1e-9)


def test_equivalence_at_level_alpha_is_the_ninety_percent_interval_inside_the_margin():
    """TOST at 0.05 rejects exactly when the 90% interval lies within the margin: at a margin
    equal to the interval's farther end the p-value is 0.05."""
    a, b = [0.31, 0.29, 0.35, 0.30, 0.28, 0.33], [0.30, 0.30, 0.31, 0.27, 0.29, 0.30]
    for paired in (True, False):
        _, low, high = difference_interval(a, b, paired, confidence=0.9)
        assert equivalence_p(a, b, max(abs(low), abs(high)), paired) == pytest.approx(0.05, rel=1e-7)


def test_equivalence_edge_cases():
    assert equivalence_p([1.0, 1.0], [0.9, 0.9], margin=0.2, paired=True) == 0.0
    assert equivalence_p([1.0, 1.0], [0.5, 0.5], margin=0.2, paired=True) == 1.0
    with pytest.raises(ConfigError, match="equivalence_margin=0 is not valid"):
        equivalence_p([1, 2], [1, 2], margin=0, paired=True)


def test_equivalence_margin_is_a_fraction_of_the_range():
    assert equivalence_margin(0.588, 0.008) == pytest.approx(0.058)
    assert equivalence_margin(0.5, 0.9, fraction=0.25) == pytest.approx(0.1)
    assert math.isnan(equivalence_margin(math.nan, 0.1))


@pytest.mark.parametrize("paired", [True, False])
def test_detectable_difference_is_detected_with_eighty_percent_power(paired):
    """Simulated studies with the returned difference as the truth and the observed spreads as
    the true ones reject at 0.05 in 80% of them (10000 studies: standard error 0.4 points).
    Paired, the noncentral t is exact; Welch's is an approximation (its degrees of freedom are
    estimated in each study), about 1 point low at 8 seeds, measured with 40000 studies."""
    rng = np.random.default_rng(7)
    a, b = rng.normal(1.0, 0.4, 8), rng.normal(1.1, 0.7, 8)
    difference = min_detectable_difference(a, b, paired)
    studies = 10000
    if paired:
        sd = np.std(a - b, ddof=1)
        p = stats.ttest_1samp(rng.normal(difference, sd, (studies, 8)), 0, axis=1).pvalue
    else:
        x = rng.normal(difference, np.std(a, ddof=1), (studies, 8))
        y = rng.normal(0, np.std(b, ddof=1), (studies, 8))
        p = stats.ttest_ind(x, y, axis=1, equal_var=False).pvalue
    assert np.mean(p < 0.05) == pytest.approx(0.8, abs=0.015 if paired else 0.025)


def test_detectable_difference_approaches_the_normal_formula_with_many_seeds():
    """With many seeds the noncentral t is nearly normal: (z_{0.975} + z_{0.8}) times the error."""
    d = np.random.default_rng(3).normal(0, 1, 400)
    error = np.std(d, ddof=1) / math.sqrt(len(d))
    normal = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * error
    assert min_detectable_difference(d, np.zeros_like(d), paired=True) == pytest.approx(normal, rel=0.01)
    assert min_detectable_difference([1.0, 1.0], [0.0, 0.0], paired=True) == 0.0
    with pytest.raises(ConfigError, match="power"):
        min_detectable_difference([1, 2], [0, 1], paired=True, power=0.01)


def _seeds(values, first=0):
    return {first + index: value for index, value in enumerate(values)}


def test_verdicts_name_the_better_one_the_equivalent_ones_and_the_undecided():
    lower = _seeds([0.30, 0.32, 0.29, 0.31, 0.30, 0.33, 0.28, 0.31])
    samples = {"adam": lower, "extra_adam": {seed: value + 0.1 for seed, value in lower.items()},
               "alt_adam": {seed: value + 0.001 * (-1) ** seed for seed, value in lower.items()}}
    pairs = {(pair.a, pair.b): pair for pair in compare_pairs_fully(samples, margin=0.02)}
    assert all(pair.paired for pair in pairs.values())
    assert pairs["adam", "extra_adam"].verdict == "adam better"
    assert pairs["adam", "extra_adam"].difference == pytest.approx(-0.1)
    assert pairs["adam", "extra_adam"].difference_low == pytest.approx(-0.1)  # no spread in the differences
    assert pairs["adam", "alt_adam"].verdict == "equivalent within ±0.02"
    assert pairs["extra_adam", "alt_adam"].verdict == "alt_adam better"
    higher = {(pair.a, pair.b): pair.verdict for pair in compare_pairs_fully(samples, 0.02, lower_is_better=False)}
    assert higher["adam", "extra_adam"] == "extra_adam better"
    swings = [0.2, -0.2, 0.1, -0.1, 0.15, -0.15, 0.05, -0.05]  # per-seed differences averaging 0: p = 1
    noisy = {"a": lower, "b": {seed: value + swings[seed] for seed, value in lower.items()}}
    assert compare_pairs_fully(noisy, margin=0.01)[0].verdict == "inconclusive at 8 seeds"


def test_unshared_seeds_are_compared_unpaired_and_holm_runs_over_the_pairs():
    rng = np.random.default_rng(5)
    samples = {"a": _seeds(rng.normal(0, 1, 6)), "b": _seeds(rng.normal(1, 1, 5), first=100),
               "c": _seeds(rng.normal(2, 1, 6))}
    pairs = compare_pairs_fully(samples)
    assert [pair.paired for pair in pairs] == [False, True, False]
    a, b = list(samples["a"].values()), list(samples["b"].values())
    assert pairs[0].p == pytest.approx(permutation_p(a, b)) and (pairs[0].n_a, pairs[0].n_b) == (6, 5)
    assert pairs[1].p == pytest.approx(paired_permutation_p(a, list(samples["c"].values())))
    assert [pair.p_holm for pair in pairs] == pytest.approx(holm([pair.p for pair in pairs]))
    assert all(math.isnan(pair.p_equivalence) for pair in pairs)  # no margin, no equivalence test
    assert [pair.verdict for pair in pairs] == ["inconclusive at 6 vs 5 seeds", "inconclusive at 6 seeds",
                                                "inconclusive at 5 vs 6 seeds"]


def test_five_paired_seeds_cannot_separate_three_pairs_however_far_apart():
    """Holm's first step needs p < 0.05 / 3, and 5 paired seeds cannot go below 1/16."""
    samples = {name: _seeds([shift + 0.01 * seed for seed in range(5)])
               for name, shift in (("a", 0), ("b", 1), ("c", 2))}
    pairs = compare_pairs_fully(samples, margin=0.1)
    assert all(pair.min_p == pytest.approx(1 / 16) and pair.p == pytest.approx(1 / 16) for pair in pairs)
    assert all(pair.verdict == "inconclusive at 5 seeds" for pair in pairs)
    assert all(pair.min_detectable_difference == math.inf for pair in pairs)


def test_the_old_comparison_keeps_its_verdicts():
    """compare_pairs (unpaired, separated / not separated) is unchanged beside the new one."""
    pairs = compare_pairs({"a": [1.0, 1.1, 1.2], "b": [5.0, 5.1, 5.2]})
    assert pairs[0].verdict == "not separated at 3 seeds" and pairs[0].p == pytest.approx(0.1)

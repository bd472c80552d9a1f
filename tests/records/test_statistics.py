"""Bootstrap intervals, permutation tests and Holm's correction, against values worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ali_opt.records.statistics import (bootstrap_interval, bootstrap_intervals, compare_pairs, holm, mean_interval,
                                        mean_t_interval, min_permutation_p, permutation_p, verdict)


def test_bootstrap_interval_contains_the_mean_and_is_deterministic():
    values = [0.12, 0.08, 0.15, 0.11, 0.09]
    interval = mean_interval(values)
    assert interval.mean == pytest.approx(0.11) and interval.n == 5
    assert min(values) <= interval.low < interval.mean < interval.high <= max(values)
    assert mean_interval(values) == interval  # same values, same interval
    assert bootstrap_interval(values) == (interval.low, interval.high)


def test_one_seed_or_equal_seeds_give_the_value_itself_and_none_gives_nan():
    one = mean_interval([0.3])
    assert (one.mean, one.low, one.high, one.n) == (0.3, 0.3, 0.3, 1)
    same = mean_interval([0.2, 0.2, 0.2])
    assert same.low == same.mean == same.high == pytest.approx(0.2) and same.n == 3
    empty = mean_interval([math.nan])
    assert empty.n == 0 and math.isnan(empty.mean) and math.isnan(empty.low)
    assert mean_interval([0.1, math.nan, 0.3]).n == 2  # non-finite values are left out


def test_t_interval_of_a_mean_by_hand():
    # 1, 2, 3, 4: mean 2.5, sd sqrt(5/3), t_{3, 0.975} = 3.182446; half width 3.182446 * 0.645497 = 2.054260
    interval = mean_t_interval([1.0, 2.0, math.nan, 3.0, 4.0])
    assert (interval.mean, interval.n) == (2.5, 4)
    assert (interval.low, interval.high) == pytest.approx((2.5 - 2.054260, 2.5 + 2.054260), abs=1e-6)
    same = mean_t_interval([0.2, 0.2])
    assert same.low == same.high == 0.2
    one = mean_t_interval([0.3])
    assert one.mean == 0.3 and math.isnan(one.low) and math.isnan(one.high)


def test_bootstrap_intervals_per_column():
    samples = np.array([[1.0, 5.0, np.nan], [2.0, 5.0, np.nan], [3.0, 5.0, 4.0]])
    low, high = bootstrap_intervals(samples)
    assert low[0] < 2 < high[0] and (low[1], high[1]) == (5, 5) and (low[2], high[2]) == (4, 4)


@pytest.mark.parametrize("a, b, p", [
    # 3 vs 3 over the values 1..6: 20 equally likely splits; the sum of a's values decides the difference.
    ([1, 2, 3], [4, 5, 6], 2 * 1 / 20),  # only {1,2,3} has a sum <= 6
    ([1, 2, 4], [3, 5, 6], 2 * 2 / 20),  # sums <= 7: {1,2,3}, {1,2,4}
    ([1, 3, 5], [2, 4, 6], 2 * 7 / 20),  # sums <= 9: 6, 7, 8 (x2), 9 (x3)
    ([4, 5, 6], [1, 2, 3], 2 * 1 / 20),  # the mirror image
    ([1, 2], [3], 2 * 1 / 3),  # 3 splits of {1,2,3}; only {1,2} is as low
    ([1.0, 1.0], [1.0, 1.0], 1.0),  # no difference at all
])
def test_permutation_p_values_are_exact_for_small_samples(a, b, p):
    assert permutation_p(a, b) == pytest.approx(p)


def test_one_value_a_side_is_tested_like_scipy_tests_two():
    from ali_opt.records.statistics import _exact_p
    assert permutation_p([2.0], [1.0]) == 1.0  # two splits, each as extreme as the other
    for a, b in (([1, 2, 4], [3, 5, 6]), ([0.3, 0.1], [0.2, 0.5, 0.9]), ([1.0, 1.0], [1.0, 1.0])):
        assert _exact_p(np.array(a, float), np.array(b, float)) == pytest.approx(permutation_p(a, b))


def test_smallest_achievable_p():
    assert min_permutation_p(3, 3) == pytest.approx(0.1)
    assert min_permutation_p(8, 8) == pytest.approx(2 / 12870)
    assert min_permutation_p(1, 1) == 1.0
    assert math.isnan(min_permutation_p(0, 3)) and math.isnan(permutation_p([], [1.0]))


def test_holm_against_a_hand_computed_example():
    # sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> running max 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.4]) == pytest.approx([0.8, 0.8])  # capped at 1 before the running max: 0.8, max(0.8, 0.5)
    adjusted = holm([0.01, math.nan, 0.02])  # NaN stays out of the family (m = 2)
    assert adjusted[0] == pytest.approx(0.02) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.02)


def test_verdicts_name_the_seeds():
    assert verdict(0.01, 8, 8) == "separated"
    assert verdict(0.3, 3, 3) == "not separated at 3 seeds"
    assert verdict(0.3, 3, 2) == "not separated at 3 vs 2 seeds"


def test_three_seeds_can_never_separate_and_eight_can():
    far_apart = compare_pairs({"a": [1.0, 1.1, 1.2], "b": [5.0, 5.1, 5.2]})
    assert far_apart[0].p == pytest.approx(0.1) and far_apart[0].verdict == "not separated at 3 seeds"
    rng = np.random.default_rng(1)
    pairs = compare_pairs({"a": rng.normal(0, 1, 8), "b": rng.normal(0, 1, 8), "c": rng.normal(10, 1, 8)})
    verdicts = {(pair.a, pair.b): pair.verdict for pair in pairs}
    assert verdicts == {("a", "b"): "not separated at 8 seeds", ("a", "c"): "separated", ("b", "c"): "separated"}
    assert all(pair.p_holm >= pair.p for pair in pairs)

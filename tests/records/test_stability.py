"""The stability measures of a run and of a step size, on constructed values and runs whose
answers are worked out by hand: one run that degrades, one that oscillates, one that diverges."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ali_opt.errors import ConfigError
from ali_opt.records.stability import (ScaleStability, StableScale, degraded, failure_rate, grad_norm_growth,
                                       largest_stable_scale, loss_oscillation, run_stability, stability_by_scale)
from tests.helpers.synthetic_runs import synthetic_run


@pytest.mark.parametrize("final, best, noise, untrained, lower, expected", [
    (0.35, 0.30, 0.02, 0.55, True, True),  # 0.05 above its best, noise 0.02
    (0.35, 0.30, 0.06, 0.55, True, False),  # within the noise
    (0.60, 0.30, 0.50, 0.55, True, True),  # worse than untrained, whatever the noise
    (0.35, 0.30, 0.02, math.nan, True, True),  # no untrained value: the best alone decides
    (0.20, 0.50, 0.10, 0.05, False, True),  # higher is better: 0.3 below its best
    (0.45, 0.50, 0.10, 0.05, False, False),
    (0.04, 0.50, 1.00, 0.05, False, True),  # below untrained
    (math.nan, 0.30, 0.02, 0.55, True, False),  # nothing measured
])
def test_degraded(final, best, noise, untrained, lower, expected):
    assert degraded(final, best, noise, untrained, lower) is expected


def test_degraded_wants_a_noise_of_at_least_zero():
    with pytest.raises(ConfigError, match="noise=-0.1 is not valid"):
        degraded(0.3, 0.2, -0.1, 0.5)


def test_loss_oscillation_is_the_spread_of_the_gap_over_the_second_half():
    x = np.arange(12) * 10.0  # budget 110 (the last point): the second half is x > 55, 6 points
    gap = [9.0, -7.0, 3.0, 100.0, -50.0, 2.0] + [1.0, -1.0] * 3  # the first half's swings do not count
    assert loss_oscillation(x, gap) == pytest.approx(1.0)
    assert loss_oscillation(x, [0.5] * 12) == 0.0
    assert loss_oscillation(x, gap, budget=180.0) == pytest.approx(1.0)  # x > 90: the last two points, 1 and -1
    assert math.isnan(loss_oscillation(x, gap, budget=200.0))  # x > 100: one point has no spread
    assert math.isnan(loss_oscillation(x, gap, budget=400.0))  # nothing logged past 200
    assert math.isnan(loss_oscillation([], []))


def test_grad_norm_growth_is_the_late_peak_over_the_early_peak():
    x = np.arange(10) * 10.0  # budget 90: first half x <= 45 (5 points), second half 5 points
    norms = [1.0, 2.0, 1.5, 2.0, 1.0, 3.0, 10.0, 4.0, 2.0, 1.0]
    assert grad_norm_growth(x, norms) == pytest.approx(5.0)
    assert grad_norm_growth(x, norms, budget=4.0) == pytest.approx(10.0)  # first half x <= 2: the norm 1 alone
    assert math.isnan(grad_norm_growth(x, norms, budget=1000.0))  # no second half
    with pytest.raises(ValueError, match="one value per point"):
        grad_norm_growth(x, norms[:-1])


def test_failure_rate():
    assert failure_rate([True, False, False, False]) == 0.25
    assert math.isnan(failure_rate([]))


@pytest.mark.parametrize("failed, expected, text", [
    ({1: [False, False], 4: [False, False], 16: [True, False]}, StableScale(4, "exact"), "4"),
    ({1: [False], 4: [False], 16: [False]}, StableScale(16, "at least"), "≥ 16"),
    ({0.25: [True], 1: [True, True]}, StableScale(0.25, "below"), "< 0.25"),
    ({1: [False], 4: [True], 16: [False]}, StableScale(1, "exact"), "1"),  # a failure below 16 bounds it
    ({1: [True], 4: [False]}, StableScale(4, "at least"), "≥ 4"),
])
def test_largest_stable_scale(failed, expected, text):
    assert largest_stable_scale(failed) == expected and str(largest_stable_scale(failed)) == text


def _run(kid, gap, norm_d, norm_g, diverged_at=None):
    """12 evaluations at steps 0, 10, ..., 110, 1e9 FLOPs a step, a budget of 1.1e11 FLOPs:
    the second half of the budget is steps 60 to 110."""
    return synthetic_run("adam", 1.0, 0, {"kid": kid, "loss_gap": gap, "grad_norm_d": norm_d, "grad_norm_g": norm_g},
                         diverged_at=diverged_at, budget_flops=1.1e11)


def test_a_run_that_degrades():
    kid = [0.55, 0.40, 0.32, 0.30, 0.29, 0.28, 0.30, 0.31, 0.33, 0.35, 0.37, 0.40]  # best 0.28, final 0.40
    run = _run(kid, [1.0] * 12, [3.0] * 12, [4.0] * 12)
    stability = run_stability(run, "kid", noise=0.05)
    assert stability.degraded and stability.failed and not stability.diverged
    assert stability.loss_oscillation == 0.0 and stability.grad_norm_growth == pytest.approx(1.0)
    assert not run_stability(run, "kid", noise=0.15).degraded  # 0.12 above its best: within this noise


def test_a_run_that_oscillates_and_whose_gradients_grow():
    kid = [0.55, 0.40, 0.35, 0.33, 0.32, 0.31, 0.31, 0.30, 0.30, 0.30, 0.29, 0.29]
    gap = [0.2] * 6 + [1.0, -1.0] * 3
    norm_d, norm_g = [3.0] * 6 + [6.0, 3.0] * 3, [4.0] * 6 + [8.0, 4.0] * 3  # |xi| 5 early, peaking at 10 late
    stability = run_stability(_run(kid, gap, norm_d, norm_g), "kid", noise=0.01)
    assert not stability.failed
    assert stability.loss_oscillation == pytest.approx(1.0) and stability.grad_norm_growth == pytest.approx(2.0)


def test_a_run_that_diverges():
    kid = [0.55, 0.45, 0.40, 0.38, 0.36]  # steps 0 to 40; diverged at step 45
    stability = run_stability(_run(kid, [0.5, 0.7, 2.0, 5.0, 9.0], [1.0] * 5, [1.0] * 5, diverged_at=45), "kid", 0.01)
    assert stability.diverged and stability.failed and not stability.degraded
    assert math.isnan(stability.loss_oscillation) and math.isnan(stability.grad_norm_growth)  # no second half


def test_stability_by_scale_of_one_optimizer():
    """Scale 1: a steady seed and an oscillating one; scale 4: a steady seed and a diverged
    one. Scale 1 held and 4 failed, so 1 is the largest stable scale."""
    steady = _run([0.55] + [0.3] * 11, [1.0] * 12, [3.0] * 12, [4.0] * 12)
    oscillating = _run([0.55] + [0.3] * 11, [0.2] * 6 + [1.0, -1.0] * 3, [3.0] * 6 + [6.0, 3.0] * 3,
                       [4.0] * 6 + [8.0, 4.0] * 3)
    diverging = _run([0.55, 0.45, 0.40, 0.38, 0.36], [0.5] * 5, [1.0] * 5, [1.0] * 5, diverged_at=45)
    summaries, stable = stability_by_scale({4.0: [steady, diverging], 1.0: [steady, oscillating]}, "kid", 0.01)
    assert list(summaries) == [1.0, 4.0] and stable == StableScale(1.0, "exact")
    assert summaries[1.0] == ScaleStability(2, 0.0, pytest.approx(0.5), pytest.approx(1.5))
    assert summaries[4.0] == ScaleStability(2, 0.5, 0.0, pytest.approx(1.0))  # the diverged seed has no second half

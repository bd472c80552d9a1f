"""Selecting each optimizer's step size: on validation only, robust to a last evaluation that
swings, eligible cells only, clear errors for a metric the runs did not log; the target of
the time-to-target columns."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ali_opt.errors import ConfigError
from ali_opt.records.selection import (Rule, area_under_curve, final_value, lower_is_better, select_scales,
                                       selection_rule, sweep_runs, target_for, time_to_target, untrained)
from tests.helpers.synthetic_runs import synthetic_run


def kid_run(entry, scale, seed, valid, test, **options):
    """KID on validation and test images at steps 0..40, ``valid`` and ``test`` from step 10 on."""
    return synthetic_run(entry, scale, seed, {"kid_valid": [0.5, *[valid] * 4], "kid": [0.5, *[test] * 4],
                                              "recall": [0.1, 0.4, 0.5, 0.5, 0.5]}, **options)


def test_selection_follows_validation_never_test():
    # Validation prefers scale 1, the test images prefer scale 4.
    runs = [kid_run("adam", 1, seed, valid=0.05, test=0.09) for seed in (0, 1, 2)]
    runs += [kid_run("adam", 4, seed, valid=0.06, test=0.01) for seed in (0, 1, 2)]
    assert select_scales(sweep_runs(runs)) == {"adam": 1.0}
    for run in runs:  # the test curves say the opposite; deleting them changes nothing
        del run.metrics["kid"]
    assert select_scales(sweep_runs(runs)) == {"adam": 1.0}


def test_higher_is_better_for_recall():
    assert lower_is_better("kid_valid") and lower_is_better("recon_mse_valid") and lower_is_better("fid_floor")
    assert not lower_is_better("recall_valid") and not lower_is_better("probe_accuracy")
    runs = [synthetic_run("adam", scale, 0, {"recall_valid": [0.1, value]}) for scale, value in ((1, 0.3), (2, 0.6))]
    assert select_scales(sweep_runs(runs), select_by="recall_valid") == {"adam": 2.0}


def test_coverage_is_selectable_higher_is_better_and_density_has_no_direction():
    assert not lower_is_better("coverage_valid") and not lower_is_better("coverage_floor")
    with pytest.raises(KeyError):
        lower_is_better("density")
    runs = [synthetic_run("adam", scale, 0, {"coverage_valid": [0.1, value], "density_valid": [1.0, 9 - value]})
            for scale, value in ((1, 0.3), (2, 0.6), (4, 0.4))]
    assert select_scales(sweep_runs(runs), select_by="coverage_valid") == {"adam": 2.0}
    with pytest.raises(ConfigError, match="select_by='density_valid' is not a validation metric"):
        select_scales(sweep_runs(runs), select_by="density_valid")


def test_mean_of_the_last_evaluations_ignores_a_last_swing():
    # Scale 1 is steadily good and swings up at its very last evaluation; scale 2 is steadily worse.
    swinging = [synthetic_run("gda", 1, seed, {"kid_valid": [0.5, 0.10, 0.10, 0.10, 0.30]}) for seed in (0, 1)]
    steady = [synthetic_run("gda", 2, seed, {"kid_valid": [0.5, 0.20, 0.20, 0.20, 0.20]}) for seed in (0, 1)]
    cells = sweep_runs(swinging + steady)
    assert select_scales(cells, select_last=1) == {"gda": 2.0}  # final evaluation only: fooled by the swing
    assert select_scales(cells) == {"gda": 1.0}  # mean of the last 3: (0.1 + 0.1 + 0.3) / 3 < 0.2
    assert final_value(swinging[0], "kid_valid") == pytest.approx(0.5 / 3)


def test_area_under_the_curve_rewards_getting_there_early():
    early = synthetic_run("adam", 1, 0, {"kid_valid": [0.5, 0.1, 0.1, 0.1, 0.1]})
    late = synthetic_run("adam", 2, 0, {"kid_valid": [0.5, 0.5, 0.5, 0.1, 0.09]})
    # trapezoids over FLOPs 0..40e9 in steps of 10e9, divided by the span
    assert area_under_curve(early, "kid_valid") == pytest.approx((0.3 + 0.1 * 3) / 4)
    assert area_under_curve(late, "kid_valid") == pytest.approx((0.5 + 0.5 + 0.3 + 0.095) / 4)
    cells = sweep_runs([early, late])
    assert select_scales(cells, select_rule="auc") == {"adam": 1.0}
    assert select_scales(cells, select_rule="last", select_last=1) == {"adam": 2.0}


def test_settings_come_from_the_runs_configs():
    runs = [synthetic_run("adam", scale, 0, {"kid_valid": [0.5, kid], "recon_mse_valid": [0.1, mse]},
                          select_by="recon_mse_valid", select_last=2)
            for scale, kid, mse in ((1, 0.1, 0.05), (2, 0.05, 0.1))]
    assert selection_rule(sweep_runs(runs)) == Rule("recon_mse_valid", 2, "last")
    assert select_scales(sweep_runs(runs)) == {"adam": 1.0}
    assert select_scales(sweep_runs(runs), select_by="kid_valid") == {"adam": 2.0}


def test_runs_from_before_sample_quality_select_on_validation_mse():
    runs = [synthetic_run("adam", 1, 0, {"recon_mse_valid": [0.1, 0.05]}, baselines={})]
    assert selection_rule(sweep_runs(runs)).select_by == "recon_mse_valid"


def test_a_scale_with_a_diverged_or_unfinished_seed_is_not_eligible_and_ties_go_to_the_smaller_scale():
    runs = [kid_run("gda", 1, seed, valid=0.07, test=0.07) for seed in (0, 1)]
    runs += [kid_run("gda", 2, 0, valid=0.01, test=0.01),
             synthetic_run("gda", 2, 1, {"kid_valid": [0.5, 0.01]}, diverged_at=15),
             kid_run("gda", 3, 0, valid=0.01, test=0.01, status="RUNNING")]
    assert select_scales(sweep_runs(runs)) == {"gda": 1.0}
    assert select_scales(sweep_runs([synthetic_run("eg", 8, 0, {"kid_valid": [0.5]}, diverged_at=5)])) == {"eg": None}
    tied = [kid_run("adam", scale, 0, valid=0.05, test=0.05) for scale in (4, 2)]
    assert select_scales(sweep_runs(tied)) == {"adam": 2.0}


@pytest.mark.parametrize("select_by, message", [
    ("fid_valid", "select_by='fid_valid' is not logged by these runs; valid: kid_valid, recall_valid"),
    ("kid", "select_by='kid' is not a validation metric (test metrics are reported, never selected on); "
            "valid: kid_valid, recall_valid"),
])
def test_a_select_by_the_runs_did_not_log_is_one_clear_line(select_by, message):
    runs = [synthetic_run("adam", 1, 0, {"kid_valid": [0.5, 0.1], "recall_valid": [0.1, 0.5], "kid": [0.5, 0.1]})]
    with pytest.raises(ConfigError) as error:
        select_scales(sweep_runs(runs), select_by=select_by)
    assert str(error.value) == message


def test_bad_rule_settings_are_refused():
    runs = [kid_run("adam", 1, 0, valid=0.1, test=0.1)]
    with pytest.raises(ConfigError, match="select_rule='best' is not valid; choose one of: last, auc"):
        select_scales(sweep_runs(runs), select_rule="best")
    with pytest.raises(ConfigError, match="select_last=0 is not valid"):
        select_scales(sweep_runs(runs), select_last=0)
    disagreeing = [kid_run("adam", 1, 0, valid=0.1, test=0.1, select_last=2),
                   kid_run("adam", 1, 1, valid=0.1, test=0.1, select_last=3)]
    with pytest.raises(ConfigError, match="the runs disagree on select_last: 2, 3"):
        select_scales(sweep_runs(disagreeing))


def test_target_is_halfway_from_the_best_baseline_to_the_best_value_reached():
    runs = [synthetic_run("a", 1, seed, {"kid_valid": [0.5, best, best]}) for seed, best in enumerate((0.1, 0.3))]
    target, baseline, best = target_for(runs, "kid_valid")
    assert (target, baseline, best) == pytest.approx((0.3, 0.5, 0.1))
    assert time_to_target(runs[0], "kid_valid", target, clock="flops") == pytest.approx(10e9)
    assert time_to_target(runs[1], "kid_valid", target, clock="cpu_time") == pytest.approx(1.0)
    assert math.isnan(time_to_target(runs[1], "kid_valid", 0.2))  # never reached
    # For an MSE the mean image is a baseline too: here the better one (0.06 against the untrained 0.5).
    mse = [synthetic_run("a", 1, 0, {"recon_mse_valid": [0.5, 0.04]})]
    assert target_for(mse, "recon_mse_valid") == pytest.approx((0.05, 0.06, 0.04))
    # Higher is better for recall; no run beating the untrained value: no target.
    assert math.isnan(target_for(runs, "recall_valid")[0])  # not logged
    flat = [synthetic_run("a", 1, 0, {"recall_valid": [0.4, 0.3]})]
    assert math.isnan(target_for(flat, "recall_valid")[0])


def test_untrained_is_step_zero_only():
    run = synthetic_run("a", 1, 0, {"kid_valid": [0.5, 0.2]})
    assert untrained(run, "kid_valid") == 0.5 and untrained(run, "kid_floor") == 0.001
    run.metrics["kid_valid"] = (np.array([10]), np.array([0.2]))
    assert math.isnan(untrained(run, "kid_valid"))

"""The step-size sweep's summary tables, from synthetic runs: verdicts that say what the seeds
allow, baselines beside the outcomes, times to target, pairs compared on the test images."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from ali_opt.records import step_size_summary as summaries
from ali_opt.records.selection import select_scales, sweep_runs
from tests.helpers.synthetic_runs import entry_runs, synthetic_run

def test_verdicts_separate_clearly_different_optimizers_and_not_one_distribution():
    rng = np.random.default_rng(3)
    runs = (entry_runs("adam", 8, rng.normal(0.1, 0.01, 8)) + entry_runs("alt_adam", 8, rng.normal(0.1, 0.01, 8))
            + entry_runs("extra_adam", 8, rng.normal(0.05, 0.01, 8)))
    cells = sweep_runs(runs)
    summary = summaries.sweep_summary(cells, select_scales(cells))
    verdicts = {(pair.a, pair.b): pair.verdict for pair in summary.comparisons}
    assert verdicts == {("adam", "alt_adam"): "not separated at 8 seeds", ("adam", "extra_adam"): "separated",
                        ("alt_adam", "extra_adam"): "separated"}


def test_three_seeds_cannot_separate_and_the_summary_says_so(tmp_path):
    runs = entry_runs("adam", 3, [0.10, 0.11, 0.12]) + entry_runs("extra_adam", 3, [0.01, 0.02, 0.03],
                                                                  diverge_at_64=True)
    cells = sweep_runs(runs)
    selected = select_scales(cells)
    summary = summaries.sweep_summary(cells, selected)
    (pair,) = summary.comparisons
    assert (pair.p, pair.p_holm, pair.min_p) == pytest.approx((0.1, 0.1, 0.1))
    assert pair.verdict == "not separated at 3 seeds"
    summaries.write_sweep_summary(cells, selected, tmp_path)
    markdown = (tmp_path / "summary.md").read_text()
    assert "3 vs 3 seeds: 0.1" in markdown and "no pair can be separated at 0.05" in markdown
    pairs = list(csv.DictReader((tmp_path / "pairwise.csv").open()))
    assert pairs[0]["verdict"] == "not separated at 3 seeds"
    assert float(pairs[0]["min_achievable_p"]) == pytest.approx(0.1)


def test_summary_rows_put_the_outcomes_beside_the_baselines(tmp_path):
    runs = entry_runs("adam", 3, [0.10, 0.11, 0.12]) + entry_runs("extra_adam", 3, [0.01, 0.02, 0.03],
                                                                  diverge_at_64=True)
    cells = sweep_runs(runs)
    selected = select_scales(cells)
    assert selected == {"adam": 8.0, "extra_adam": 8.0}
    summary = summaries.sweep_summary(cells, selected)
    adam, extra = summary.rows
    assert adam["kid_valid"] == pytest.approx(0.11) and adam["kid_valid_low"] <= 0.11 <= adam["kid_valid_high"]
    assert adam["kid"] == pytest.approx(0.11) and adam["kid_untrained"] == pytest.approx(0.5)
    assert adam["kid_floor"] == pytest.approx(0.001)
    assert adam["recall"] == pytest.approx(0.5) and adam["recall_floor"] == pytest.approx(0.7)
    assert adam["recon_mse"] == pytest.approx(0.05) and adam["recon_mse_mean_image"] == pytest.approx(0.06)
    assert "fid" not in summary.columns and "probe_accuracy" not in summary.columns  # not logged: left out
    assert (adam["diverged_all"], extra["diverged_all"]) == ("0/9", "1/9")
    assert extra["diverged_fraction"] == pytest.approx(1 / 9)
    # target: halfway from the untrained 0.5 to the best reached, 0.01: 0.255; reached at step 20
    assert summary.target == pytest.approx(0.255)
    assert adam["flops_to_target"] == pytest.approx(20e9) and extra["flops_to_target"] == pytest.approx(40e9)
    assert adam["cpu_s_to_target"] == pytest.approx(2.0) and adam["reached_target"] == "3/3"
    summaries.write_sweep_summary(cells, selected, tmp_path)
    table = list(csv.DictReader((tmp_path / "summary.csv").open()))
    assert [row["optimizer"] for row in table] == ["adam", "extra_adam"]
    assert float(table[0]["kid_valid"]) == pytest.approx(0.11) and table[0]["selected_scale"] == "8.0"
    assert "collapse" not in (tmp_path / "summary.csv").read_text()


def test_a_target_nobody_reaches_reads_not_reached():
    runs = [synthetic_run("adam", 1, seed, {"kid_valid": [0.5, 0.1, 0.1]}) for seed in (0, 1)]
    runs += [synthetic_run("gda", 1, seed, {"kid_valid": [0.5, 0.4, 0.4]}) for seed in (0, 1)]
    cells = sweep_runs(runs)
    summary = summaries.sweep_summary(cells, select_scales(cells))
    adam, gda = summary.rows
    assert summary.target == pytest.approx(0.3)
    assert adam["reached_target"] == "2/2" and gda["reached_target"] == "0/2"
    assert gda["flops_to_target"] == gda["cpu_s_to_target"] == "not reached"
    assert {time["flops"] for time in summary.times if time["optimizer"] == "gda"} == {"not reached"}


def test_pairs_are_compared_on_the_test_images_not_on_the_validation_that_selected():
    """Validation KID separates the two optimizers (it chose their scales), test KID does not: the
    verdict follows the test images, which chose nothing."""
    runs = []
    for entry, valid in (("adam", 0.10), ("extra_adam", 0.02)):
        for seed in range(6):
            test = 0.05 + 0.01 * ((seed + (entry == "adam")) % 3)
            runs.append(synthetic_run(entry, 1, seed, {"kid_valid": [0.5, valid + 0.001 * seed, valid + 0.001 * seed],
                                                       "kid": [0.5, test, test]}))
    cells = sweep_runs(runs)
    summary = summaries.sweep_summary(cells, select_scales(cells))
    (pair,) = summary.comparisons
    assert summary.compared == "kid" and pair.verdict == "not separated at 6 seeds"
    assert summaries.compared_metric("kid_valid", {"kid_valid"}) == "kid_valid"  # no test counterpart logged

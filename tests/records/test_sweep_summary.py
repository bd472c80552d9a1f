"""The sweep's summary tables and figures, from synthetic runs: verdicts that say what the
seeds allow, baselines beside the outcomes, every scale labelled, seeds that ended early."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from ali_opt.plots import sweep
from ali_opt.records.selection import select_scales, selection_rule, sweep_runs
from tests.records.synthetic import synthetic_run

SCALES = (1, 8, 64)


def entry_runs(entry, seeds, final_kid, scales=SCALES, diverge_at_64=False):
    """Runs whose KID (validation and test) falls from 0.5 to about ``final_kid`` (per seed:
    ``final_kid[seed]``) at scale 8, a little worse at the other scales; recall rises to 0.5."""
    runs = []
    for scale in scales:
        for seed in range(seeds):
            offset = 0.0 if scale == 8 else 0.02
            end = final_kid[seed] + offset
            curves = {"kid_valid": [0.5, 0.3, end, end, end], "kid": [0.5, 0.3, end, end, end],
                      "recall": [0.1, 0.3, 0.5, 0.5, 0.5], "recon_mse": [0.3, 0.1, 0.05, 0.05, 0.05]}
            diverged = diverge_at_64 and scale == 64 and seed == 0
            if diverged:
                curves = {metric: values[:2] for metric, values in curves.items()}
            runs.append(synthetic_run(entry, scale, seed, curves, diverged_at=15 if diverged else None))
    return runs


def test_verdicts_separate_clearly_different_optimizers_and_not_one_distribution():
    rng = np.random.default_rng(3)
    runs = (entry_runs("adam", 8, rng.normal(0.1, 0.01, 8)) + entry_runs("alt_adam", 8, rng.normal(0.1, 0.01, 8))
            + entry_runs("extra_adam", 8, rng.normal(0.05, 0.01, 8)))
    cells = sweep_runs(runs)
    summary = sweep.sweep_summary(cells, select_scales(cells))
    verdicts = {(pair.a, pair.b): pair.verdict for pair in summary.comparisons}
    assert verdicts == {("adam", "alt_adam"): "not separated at 8 seeds", ("adam", "extra_adam"): "separated",
                        ("alt_adam", "extra_adam"): "separated"}


def test_three_seeds_cannot_separate_and_the_summary_says_so(tmp_path):
    runs = entry_runs("adam", 3, [0.10, 0.11, 0.12]) + entry_runs("extra_adam", 3, [0.01, 0.02, 0.03],
                                                                  diverge_at_64=True)
    cells = sweep_runs(runs)
    selected = select_scales(cells)
    summary = sweep.sweep_summary(cells, selected)
    (pair,) = summary.comparisons
    assert (pair.p, pair.p_holm, pair.min_p) == pytest.approx((0.1, 0.1, 0.1))
    assert pair.verdict == "not separated at 3 seeds"
    sweep.write_sweep_summary(cells, selected, tmp_path)
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
    summary = sweep.sweep_summary(cells, selected)
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
    sweep.write_sweep_summary(cells, selected, tmp_path)
    table = list(csv.DictReader((tmp_path / "summary.csv").open()))
    assert [row["optimizer"] for row in table] == ["adam", "extra_adam"]
    assert float(table[0]["kid_valid"]) == pytest.approx(0.11) and table[0]["selected_scale"] == "8.0"
    assert "collapse" not in (tmp_path / "summary.csv").read_text()


def test_a_target_nobody_reaches_reads_not_reached():
    runs = [synthetic_run("adam", 1, seed, {"kid_valid": [0.5, 0.1, 0.1]}) for seed in (0, 1)]
    runs += [synthetic_run("gda", 1, seed, {"kid_valid": [0.5, 0.4, 0.4]}) for seed in (0, 1)]
    cells = sweep_runs(runs)
    summary = sweep.sweep_summary(cells, select_scales(cells))
    adam, gda = summary.rows
    assert summary.target == pytest.approx(0.3)
    assert adam["reached_target"] == "2/2" and gda["reached_target"] == "0/2"
    assert gda["flops_to_target"] == gda["cpu_s_to_target"] == "not reached"
    assert {time["flops"] for time in summary.times if time["optimizer"] == "gda"} == {"not reached"}


@pytest.fixture
def captured(monkeypatch):
    """The figures the sweep saves, kept for their axes to be read."""
    figures = {}
    save = sweep._save

    def keep(figure, path, *arguments):
        figures[path.name] = figure
        return save(figure, path, *arguments)

    monkeypatch.setattr(sweep, "_save", keep)
    return figures


def test_figures_are_written_with_every_scale_labelled(tmp_path, captured):
    scales = (0.25, 1, 8, 64)
    runs = entry_runs("adam", 3, [0.10, 0.11, 0.12], scales) + entry_runs("extra_adam", 3, [0.01, 0.02, 0.03], scales,
                                                                          diverge_at_64=True)
    written = sweep.draw_sweep(sweep_runs(runs), tmp_path)
    assert {path.name for path in written} == {"stability_vs_step_size.png", "failures_vs_step_size.png",
                                               "selected_curves.png", "summary.md", "summary.csv", "pairwise.csv",
                                               "time_to_target.csv"}
    assert all(path.stat().st_size > 1000 for path in written if path.suffix == ".png")
    for name in ("stability_vs_step_size.png", "failures_vs_step_size.png"):
        for axis in captured[name].axes:
            assert [label.get_text() for label in axis.get_xticklabels()] == ["0.25", "1", "8", "64"]
            assert axis.get_xscale() == "log" and not axis.get_xticklabels(minor=True)
    legend = [text.get_text() for text in captured["stability_vs_step_size.png"].legends[0].get_texts()]
    assert {"untrained", "real vs real", "mean image"} <= set(legend)


def test_every_optimizer_has_its_own_colour_line_style_and_marker():
    from ali_opt.plots.styles import entry_styles
    styles = list(entry_styles([f"optimizer {index}" for index in range(9)]).values())
    for key in ("color", "linestyle", "marker"):
        assert len({str(style[key]) for style in styles}) == 9


def test_selected_curves_stop_the_mean_where_the_first_seed_ends(captured, tmp_path):
    # At the selected scale one seed ends early (a run still RUNNING would not be selected; here the selection is
    # given): the mean stops at its last evaluation, its own curve ends in an x.
    runs = [synthetic_run("adam", 1, 0, {"kid_valid": [0.5, 0.3, 0.2, 0.1, 0.1]}),
            synthetic_run("adam", 1, 1, {"kid_valid": [0.5, 0.3, 0.2]}, diverged_at=25)]
    cells = sweep_runs(runs)
    sweep.selected_curves(cells, {"adam": 1.0}, tmp_path / "selected_curves.png", rule=selection_rule(cells))
    axis = captured["selected_curves.png"].axes[0]
    lines = [(line.get_xdata(), line.get_ydata(), line.get_linewidth()) for line in axis.get_lines()]
    mean = [x for x, _, width in lines if width == pytest.approx(1.8)]
    assert len(mean) == 1 and list(mean[0]) == pytest.approx([0, 10e9, 20e9])
    crosses = [line for line in axis.get_lines() if line.get_marker() == "x"]
    assert [list(line.get_xdata()) for line in crosses] == [[20e9]]


def test_runs_without_sample_quality_still_get_their_figures_and_summary(tmp_path):
    """Older runs: validation and test MSE, no step 0, no FLOPs, no baselines."""
    runs = [synthetic_run("adam", scale, seed, {"recon_mse_valid": [0.1, 0.05 * scale], "recon_mse": [0.1, 0.05]},
                          baselines={}) for scale in (1, 2) for seed in (0, 1)]
    for run in runs:
        for metric in ("recon_mse_valid", "recon_mse", "flops"):
            steps, values = run.metrics[metric]
            run.metrics[metric] = (steps[1:], values[1:])
    written = sweep.draw_sweep(sweep_runs(runs), tmp_path)
    assert len(written) == 7
    markdown = (tmp_path / "summary.md").read_text()
    assert "| adam | 1 | 2 | 0/4 |" in markdown and "no step-0 baseline was logged" in markdown


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
    summary = sweep.sweep_summary(cells, select_scales(cells))
    (pair,) = summary.comparisons
    assert summary.compared == "kid" and pair.verdict == "not separated at 6 seeds"
    assert sweep.compared_metric("kid_valid", {"kid_valid"}) == "kid_valid"  # no test counterpart logged

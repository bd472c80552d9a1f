"""The step-size sweep's figures, from synthetic runs: every scale labelled, each optimizer its
own style, seeds that ended early, runs without sample quality."""
from __future__ import annotations

import pytest

from ali_opt.plots import step_size_figures as figures
from ali_opt.plots.all_figures import sweep_figures_and_summary
from ali_opt.records.selection import selection_rule, sweep_runs
from tests.helpers.figures import capture_saved_figures
from tests.helpers.synthetic_runs import entry_runs, synthetic_run


@pytest.fixture
def captured(monkeypatch):
    """The figures the sweep saves, kept for their axes to be read."""
    return capture_saved_figures(monkeypatch, figures)


def test_figures_are_written_with_every_scale_labelled(tmp_path, captured):
    scales = (0.25, 1, 8, 64)
    runs = entry_runs("adam", 3, [0.10, 0.11, 0.12], scales) + entry_runs("extra_adam", 3, [0.01, 0.02, 0.03], scales,
                                                                          diverge_at_64=True)
    written = sweep_figures_and_summary(sweep_runs(runs), tmp_path)
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
    figures.selected_curves(cells, {"adam": 1.0}, tmp_path / "selected_curves.png", rule=selection_rule(cells))
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
    written = sweep_figures_and_summary(sweep_runs(runs), tmp_path)
    assert len(written) == 7
    markdown = (tmp_path / "summary.md").read_text()
    assert "| adam | 1 | 2 | 0/4 |" in markdown and "no step-0 baseline was logged" in markdown


def test_the_diversity_panels_draw_coverage_where_it_was_logged(captured, tmp_path):
    # Recall reads 0 for every run (a hard threshold), coverage grades: the figures draw coverage when it is logged.
    curves = {"kid_valid": [0.5, 0.2], "kid": [0.5, 0.2], "recall": [0.0, 0.0]}
    runs = [synthetic_run("adam", scale, seed, {**curves, "coverage": [0.1, 0.3 + 0.1 * seed]})
            for scale in (1, 2) for seed in (0, 1)]
    cells = sweep_runs(runs)
    rule = selection_rule(cells)
    figures.failures_vs_step_size(cells, tmp_path / "failures.png", rule=rule)
    assert captured["failures.png"].axes[1].get_ylabel() == "coverage (test; higher is better)"
    figures.selected_curves(cells, {"adam": 1.0}, tmp_path / "curves.png", rule=rule)
    assert [axis.get_ylabel() for axis in captured["curves.png"].axes[::2]] == [
        "KID (validation)", "KID (test)", "coverage (test)", "reconstruction MSE (test)"]
    for run in runs:
        del run.metrics["coverage"]
    figures.failures_vs_step_size(sweep_runs(runs), tmp_path / "failures.png", rule=rule)
    assert captured["failures.png"].axes[1].get_ylabel() == "recall (test; higher is better)"

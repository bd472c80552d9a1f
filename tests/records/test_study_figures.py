"""The two-stage study's figures, drawn from the report of a synthetic study
(:mod:`tests.helpers.study_runs`): every file written, every tried scale labelled, the marks
where the report puts them, and nothing computed in the drawing module."""
from __future__ import annotations

import ast
import inspect

import pytest

from ali_opt.plots import study_figures as figures
from ali_opt.records.study_report import study_report
from tests.helpers.figures import capture_saved_figures
from tests.helpers.study_runs import GRIDS, RULE, SELECTED, noise_draws, study_cells


@pytest.fixture(scope="module")
def report():
    selection, confirmation = study_cells()
    return study_report(selection, GRIDS, SELECTED, confirmation, RULE, "kid", noise_draws=noise_draws())


@pytest.fixture
def captured(monkeypatch):
    """The figures saved, kept for their axes to be read."""
    return capture_saved_figures(monkeypatch, figures)


def test_every_figure_is_written_with_every_tried_scale_labelled(report, tmp_path, captured):
    written = figures.draw_study(report, tmp_path / "figures")
    assert [path.name for path in written] == ["stability_vs_step_size.png", "outcomes_vs_step_size.png",
                                               "losses.png", "selected_curves.png", "pairs.png"]
    assert all(path.stat().st_size > 10_000 for path in written)
    for name in ("stability_vs_step_size.png", "outcomes_vs_step_size.png"):
        for axis in captured[name].axes:
            assert [label.get_text() for label in axis.get_xticklabels()] == ["0.25", "1", "4", "16"]
            assert axis.get_xscale() == "log"
    legend = [text.get_text() for text in captured["outcomes_vs_step_size.png"].legends[0].get_texts()]
    assert {"untrained", "real vs real", "adam (2 seeds per scale)"} <= set(legend)


def test_the_largest_stable_scale_and_the_selected_scale_are_marked(report, tmp_path, captured):
    figures.stability_vs_step_size(report, tmp_path / "stability.png")
    failures = captured["stability.png"].axes[0]
    triangles = {line.get_marker() for line in failures.get_lines() if line.get_marker() in ("v", ">", "<")}
    assert triangles == {"v", ">"}  # adam exactly 4; alt_adam and extra_adam at least their largest
    rings = [line for line in failures.get_lines() if line.get_markerfacecolor() == "none"]
    assert len(rings) == 3 and sorted(round(float(line.get_ydata()[0]), 6) for line in rings) == [0, 0, 0]


def test_the_pairs_figure_states_each_verdict_and_the_margin(report, tmp_path, captured):
    figures.pairs(report, tmp_path / "pairs.png")
    axis = captured["pairs.png"].axes[0]
    labels = [label.get_text() for label in axis.get_yticklabels()]
    assert labels == ["adam − alt_adam\nequivalent within ±0.0499", "adam − extra_adam\nextra_adam better",
                      "alt_adam − extra_adam\nextra_adam better"]
    band = axis.patches[0].get_window_extent().transformed(axis.transData.inverted())
    assert (band.x0, band.x1) == pytest.approx((-report.margin, report.margin))


def test_selected_curves_have_one_panel_per_outcome_primary_first(report, tmp_path, captured):
    figures.selected_curves(report, tmp_path / "curves.png")
    visible = [axis for axis in captured["curves.png"].axes if axis.get_visible()]
    assert [axis.get_ylabel().split(" (")[0] for axis in visible] == ["KID", "coverage", "FID"]


def test_the_drawing_module_computes_no_statistics():
    tree = ast.parse(inspect.getsource(figures))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not any(name and name.startswith("scipy") for name in imported)
    from_statistics = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                       and node.module.endswith("statistics") for alias in node.names}
    assert from_statistics == {"CONFIDENCE"}  # the level the report's intervals were computed at, for the titles

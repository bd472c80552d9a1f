"""Figures of a step-size sweep (the main study), from its runs.

The selection rule and the final value of a run (the mean of its last evaluations) are in
:mod:`ali_opt.records.selection`, the intervals in :mod:`ali_opt.records.statistics`, the
summary tables in :mod:`ali_opt.records.step_size_summary`; this module only draws. Every
figure gives each optimizer its own colour, line style and marker (:mod:`.styles`), labels
every scale on its log axis, and draws the untrained model (grey dashed), the real-vs-real
floor (grey dotted) and, for MSE, the mean image (grey dash-dot) where the runs logged them.

- ``stability_vs_step_size``: per outcome (``select_by`` on validation, as selection scores
  it; KID, coverage and reconstruction MSE on the test images; recall stands in for coverage
  in runs that did not log it, :func:`~ali_opt.records.step_size_summary.diversity_metric`),
  the final value against the scale: mean over the seeds that did not diverge, with its 95%
  bootstrap interval (band and bar); optimizers dodged a little along the axis; an x at the
  top of a panel for each scale where seeds diverged (with their number when more than
  one); a ring at the selected scale.
- ``failures_vs_step_size``: the fraction of seeds that diverged, and the final coverage (or
  recall; low: mode collapse), against the scale.
- ``selected_curves``: at each optimizer's selected scale, ``select_by``, KID, coverage (or
  recall) and reconstruction MSE against FLOPs (gradient evaluations for runs that did not
  log FLOPs) and against CPU time: each seed thin, the mean over seeds with its 95% bootstrap
  band drawn up to the last evaluation every seed reached; a seed that ended early ends in an x.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.lines import Line2D

from ..records.runs import Run
from ..records.seed_curves import seed_curves
from ..records.selection import (Cells, Rule, cell_runs, diverged, final_value, logged_metrics, lower_is_better,
                                 references, run_score, select_with, selection_rule, shared_compute_clock)
from ..records.statistics import CONFIDENCE, bootstrap_intervals, mean_interval
from ..records.step_size_summary import diversity_metric, metric_label
from .curves import save_with_legend
from .styles import (DIVERGED, FLOOR, MEAN_IMAGE as MEAN_IMAGE_STYLE, UNTRAINED, dodge, entry_styles, mark_top,
                     reference_line, scale_axis)

def figure_outcomes(runs: Sequence[Run]) -> tuple[str, str, str]:
    """The test outcomes drawn beside ``select_by`` in the figures: KID, the diversity outcome
    (coverage where logged, else recall) and reconstruction MSE."""
    return "kid", diversity_metric(logged_metrics(runs)), "recon_mse"


def draw_sweep(cells: Cells, out: Path, pdf: bool = False, rule: Rule | None = None,
               selected: dict[str, float | None] | None = None) -> list[Path]:
    """Every sweep figure of ``cells`` (see :func:`~ali_opt.records.selection.sweep_runs`), at
    the scales ``selected`` by ``rule`` (by default the rule that
    :func:`~ali_opt.records.selection.selection_rule` resolves, and the scales it selects)."""
    rule = rule or selection_rule(cells)
    selected = selected if selected is not None else select_with(cells, rule)
    return [
        *stability_vs_step_size(cells, out / "stability_vs_step_size.png", pdf, rule, selected),
        *failures_vs_step_size(cells, out / "failures_vs_step_size.png", pdf, rule),
        *selected_curves(cells, selected, out / "selected_curves.png", pdf, rule),
    ]


def _scales(cells: Cells) -> list[float]:
    return sorted({scale for by_scale in cells.values() for scale in by_scale})


def _draw_references(axis, runs: Sequence[Run], metric: str) -> list[Line2D]:
    values = references(runs, metric)
    lines = [reference_line(axis, values["untrained"], UNTRAINED, "untrained"),
             reference_line(axis, values["floor"], FLOOR, "real vs real"),
             reference_line(axis, values["mean_image"], MEAN_IMAGE_STYLE, "mean image")]
    return [line for line in lines if line is not None]


def _outcome_panel(axis, cells: Cells, styles: dict, value: Callable[[Run], float],
                   selected: dict[str, float | None] | None = None) -> None:
    """Per entry and scale: mean of ``value`` over the seeds that did not diverge, its
    bootstrap interval as a band and a bar, dodged; an x at the top where seeds diverged."""
    scales = _scales(cells)
    for index, (entry, by_scale) in enumerate(cells.items()):
        style = styles[entry]
        xs = dodge(list(by_scale), index, len(cells), scales)
        intervals = [mean_interval([value(run) for run in runs if not diverged(run)]) for runs in by_scale.values()]
        mean = np.array([interval.mean for interval in intervals])
        low = np.array([interval.low for interval in intervals])
        high = np.array([interval.high for interval in intervals])
        axis.plot(xs, mean, **style, markersize=5, linewidth=1.4)
        axis.fill_between(xs, low, high, color=style["color"], alpha=0.12, linewidth=0)
        axis.vlines(xs, low, high, color=style["color"], linewidth=1.2)
        for x, runs in zip(xs, by_scale.values()):
            count = sum(map(diverged, runs))
            if count:
                mark_top(axis, x, style["color"], count)
        if selected and selected.get(entry) is not None:
            where = list(by_scale).index(selected[entry])
            axis.plot(xs[where], mean[where], marker="o", markersize=13, markerfacecolor="none",
                      markeredgecolor=style["color"], markeredgewidth=1.5, linestyle="none")


def _note_if_empty(axis, metric: str, runs: Sequence[Run]) -> bool:
    """Say so on a panel whose metric no run logged; whether it did."""
    if metric in logged_metrics(runs):
        return False
    axis.text(0.5, 0.5, f"{metric}: not logged by these runs", transform=axis.transAxes, ha="center", va="center")
    return True


def _entry_handles(cells: Cells, styles: dict, extra: Sequence[Line2D] = ()) -> tuple[list, list[str]]:
    handles = [Line2D([], [], **styles[entry],
                      label=f"{entry} ({_seeds(max(map(len, by_scale.values())))} per scale)")
               for entry, by_scale in cells.items()]
    handles += _unique(extra)
    return handles, [handle.get_label() for handle in handles]


def _seeds(count: int) -> str:
    return f"{count} seed{'s' if count != 1 else ''}"


def _unique(handles: Sequence[Line2D]) -> list[Line2D]:
    seen, kept = set(), []
    for handle in handles:
        if handle.get_label() not in seen:
            seen.add(handle.get_label())
            kept.append(handle)
    return kept


def _diverged_handle() -> Line2D:
    return Line2D([], [], color="0.3", **DIVERGED, label="x at the top: seeds diverged there (number: how many)")


def stability_vs_step_size(cells: Cells, path: Path, pdf: bool = False, rule: Rule | None = None,
                           selected: dict[str, float | None] | None = None) -> list[Path]:
    rule = rule or selection_rule(cells)
    runs = cell_runs(cells)
    styles = entry_styles(list(cells))
    panels = [(rule.select_by, lambda run: run_score(run, rule),
               f"{metric_label(rule.select_by)}: {rule.describe().split(', ', 1)[1]}\n"
               "(the selection score; ring: selected)")]
    panels += [(metric, lambda run, metric=metric: final_value(run, metric, rule.select_last),
                f"{metric_label(metric)}: mean of the last {rule.select_last} evaluations")
               for metric in figure_outcomes(runs)]
    figure, axes = plt.subplots(2, 2, figsize=(13, 9.5), layout="constrained")
    references_drawn = [_diverged_handle()]
    for axis, (metric, value, title) in zip(axes.flat, panels):
        if not _note_if_empty(axis, metric, runs):
            _outcome_panel(axis, cells, styles, value, selected if metric == rule.select_by else None)
            references_drawn += _draw_references(axis, runs, metric)
        axis.set_title(title, fontsize="medium")
        direction = "lower" if lower_is_better(metric) else "higher"
        axis.set_ylabel(f"{metric_label(metric)} ({direction} is better)")
        scale_axis(axis, _scales(cells))
        axis.grid(alpha=0.3)
    figure.suptitle(f"Final outcome against the step size: mean over the seeds that did not diverge,\n"
                    f"{CONFIDENCE:.0%} bootstrap interval (band and bar); optimizers dodged slightly along the axis")
    return save_with_legend(figure, path, pdf, *_entry_handles(cells, styles, references_drawn))


def failures_vs_step_size(cells: Cells, path: Path, pdf: bool = False, rule: Rule | None = None) -> list[Path]:
    rule = rule or selection_rule(cells)
    runs = cell_runs(cells)
    styles = entry_styles(list(cells))
    scales = _scales(cells)
    figure, axes = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")
    for index, (entry, by_scale) in enumerate(cells.items()):
        fractions = [np.mean([diverged(run) for run in seeds]) for seeds in by_scale.values()]
        axes[0].plot(dodge(list(by_scale), index, len(cells), scales), fractions, **styles[entry], markersize=6)
    extra = []
    diversity = diversity_metric(logged_metrics(runs))
    if not _note_if_empty(axes[1], diversity, runs):
        _outcome_panel(axes[1], cells, styles, lambda run: final_value(run, diversity, rule.select_last))
        extra = _draw_references(axes[1], runs, diversity)
    axes[0].set_ylim(-0.05, 1.05)
    axes[0].set_ylabel("fraction of seeds diverged")
    axes[0].set_title("diverged: training stopped at a non-finite loss or gradient", fontsize="medium")
    axes[1].set_ylabel(f"{diversity} (test; higher is better)")
    axes[1].set_title(f"final {diversity} (mean of the last {rule.select_last} evaluations; low: mode collapse),\n"
                      f"mean over non-diverged seeds, {CONFIDENCE:.0%} bootstrap interval", fontsize="medium")
    for axis in axes:
        scale_axis(axis, scales)
        axis.grid(alpha=0.3)
    figure.suptitle("Failures against the step size (optimizers dodged slightly along the axis)")
    return save_with_legend(figure, path, pdf, *_entry_handles(cells, styles, [_diverged_handle(), *extra]))


CLOCK_NAMES = {"flops": "FLOPs (measured, optimizer steps)", "grad_evals": "gradient evaluations",
               None: "training step", "cpu_time": "CPU time (s, training only, all threads)"}


def selected_curves(cells: Cells, selected: dict[str, float | None], path: Path, pdf: bool = False,
                    rule: Rule | None = None) -> list[Path]:
    rule = rule or selection_rule(cells)
    chosen = {entry: cells[entry][scale] for entry, scale in selected.items() if scale is not None}
    runs = [run for seeds in chosen.values() for run in seeds]
    styles = entry_styles(list(cells))
    compute = shared_compute_clock(runs)
    clocks = (compute, "cpu_time")
    metrics = (rule.select_by, *figure_outcomes(runs))
    figure, axes = plt.subplots(len(metrics), 2, figsize=(13, 3.4 * len(metrics)), sharex="col", squeeze=False,
                                layout="constrained")
    extra = [Line2D([], [], color="0.3", linewidth=0.7, alpha=0.5, label="one seed"),
             Line2D([], [], color="0.3", **DIVERGED, label="last evaluation of a seed that ended early (diverged)")]
    for row, metric in zip(axes, metrics):
        empty = _note_if_empty(row[0], metric, runs)
        for axis, clock in zip(row, clocks):
            if not empty:
                extra += _draw_references(axis, runs, metric)
            for entry, seeds in chosen.items():
                _selected_panel(axis, seeds, metric, clock, styles[entry])
            axis.grid(alpha=0.3)
        row[0].set_ylabel(metric_label(metric))
    for axis, clock in zip(axes[-1], clocks):
        axis.set_xlabel(CLOCK_NAMES[clock])
    if compute == "flops":
        axes[0][0].set_title("against FLOPs")
    else:
        axes[0][0].set_title(f"against {CLOCK_NAMES[compute]} (these runs logged no FLOPs)")
    axes[0][1].set_title("against CPU time")
    figure.suptitle(f"At each optimizer's selected step size (selected on {rule.describe()})\nthin: each seed; "
                    f"thick: the mean over seeds and its {CONFIDENCE:.0%} bootstrap band,\ndrawn only up to the last "
                    "evaluation every seed reached (a seed ending early is not averaged out)")
    handles = [Line2D([], [], **styles[entry], label=f"{entry} (scale {selected[entry]:g}, {_seeds(len(seeds))})")
               for entry, seeds in chosen.items()] + _unique(extra)
    return save_with_legend(figure, path, pdf, handles, [handle.get_label() for handle in handles])


def _selected_panel(axis, seeds: Sequence[Run], metric: str, clock: str | None, style: dict) -> None:
    curves = seed_curves(seeds, metric, clock)
    for run, (x, y) in zip(seeds, curves.seeds):
        axis.plot(x, y, color=style["color"], linewidth=0.7, alpha=0.5)
        if diverged(run) and len(x):
            axis.plot(x[-1], y[-1], color=style["color"], **DIVERGED)
    if not len(curves.x):
        return
    x, values = curves.x, curves.values
    low, high = bootstrap_intervals(values)
    axis.plot(x, np.mean(values, axis=0), **style, linewidth=1.8, markersize=4)
    axis.fill_between(x, low, high, color=style["color"], alpha=0.18, linewidth=0)

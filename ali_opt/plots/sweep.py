"""Figures and summary table of a step-size sweep (the main study), from its runs.

- ``stability_vs_step_size``: final and best validation MSE, and final probe accuracy,
  against the step-size scale; one line per entry (mean over the seeds that did not
  diverge), min-max band over them; an x marks a scale where some seed diverged, drawn at
  the top of the panel when all did.
- ``failures_vs_step_size``: the fraction of seeds that diverged, the fraction that
  diverged or collapsed, and the final sample diversity (band: min-max), against the scale.
- ``selected_curves``: held-out test MSE and probe accuracy against gradient evaluations,
  wall time and CPU time, at each entry's selected scale (mean over seeds, min-max band).
- ``summary.md`` / ``summary.csv``: per entry, the selected scale and the test outcomes there.

The selection rule and the outcome definitions are in :mod:`.sweep_selection`.
"""
from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.lines import Line2D

from ..diversity import COLLAPSE_THRESHOLD
from .curves import CLOCK_LABELS, _group_entries, _save, group_colours, seed_band
from .runs import Group, Run
from .summary import _is_nan, _mean
from .sweep_selection import (SELECTION_METRIC, best, collapsed, diverged, final, median_best, select_scales,
                              time_to_target)

Cells = dict[str, dict[float, list[Run]]]


def draw_sweep(cells: Cells, out: Path, pdf: bool = False) -> list[Path]:
    """Every sweep figure and the sweep summary of ``cells`` (see :func:`.sweep_selection.sweep_runs`)."""
    selected = select_scales(cells)
    return [
        *stability_vs_step_size(cells, out / "stability_vs_step_size.png", pdf),
        *failures_vs_step_size(cells, out / "failures_vs_step_size.png", pdf),
        *selected_curves(cells, selected, out / "selected_curves.png", pdf),
        *write_sweep_summary(cells, selected, out),
    ]


def _groups(cells: Cells) -> list[Group]:
    return [Group(entry, [run for runs in by_scale.values() for run in runs]) for entry, by_scale in cells.items()]


def _per_scale(by_scale: dict[float, list[Run]], value) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Scales, and mean, min and max over the non-diverged seeds of ``value(run)`` (NaN where none)."""
    scales, mean, low, high = [], [], [], []
    for scale, runs in by_scale.items():
        values = [value(run) for run in runs if not diverged(run)]
        values = [v for v in values if math.isfinite(v)]
        scales.append(scale)
        mean.append(np.mean(values) if values else math.nan)
        low.append(min(values) if values else math.nan)
        high.append(max(values) if values else math.nan)
    return tuple(np.asarray(a, dtype=float) for a in (scales, mean, low, high))


def _mark_diverged(axis, by_scale: dict[float, list[Run]], mean: np.ndarray, colour) -> None:
    for (scale, runs), y in zip(by_scale.items(), mean):
        if any(diverged(run) for run in runs):
            on_top = not math.isfinite(y)
            axis.plot(scale, 0.97 if on_top else y, "x", color=colour, markersize=10, mew=2.5,
                      transform=axis.get_xaxis_transform() if on_top else axis.transData)


def stability_vs_step_size(cells: Cells, path: Path, pdf: bool = False) -> list[Path]:
    groups = _groups(cells)
    colours = group_colours(groups)
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    panels = ((axes[0], lambda run: final(run, SELECTION_METRIC), "-"),
              (axes[0], lambda run: best(run, SELECTION_METRIC), ":"),
              (axes[1], lambda run: final(run, "probe_accuracy"), "-"))
    for entry, by_scale in cells.items():
        for axis, value, style in panels:
            scales, mean, low, high = _per_scale(by_scale, value)
            axis.plot(scales, mean, style, marker="o", color=colours[entry])
            if style == "-":
                axis.fill_between(scales, low, high, color=colours[entry], alpha=0.2, linewidth=0)
                _mark_diverged(axis, by_scale, mean, colours[entry])
    _note_if_empty(axes)
    axes[0].set_ylabel("validation reconstruction MSE\n(per pixel, pixels in [0, 1])")
    axes[0].set_title("validation MSE (solid: final, the selection criterion; dotted: best)")
    axes[1].set_ylabel("linear-probe accuracy (held-out images)")
    axes[1].set_title("encoder linear-probe accuracy, final")
    for axis in axes:
        axis.set_xscale("log")
        axis.set_xlabel("step-size scale (multiplies both players' lr)")
        axis.grid(alpha=0.3, which="both")
    figure.suptitle("Against the step size: mean over non-diverged seeds, band min-max; x: some seed diverged "
                    "(at the top: all did)")
    diverged_entry = Line2D([], [], color="0.3", marker="x", linestyle="none", mew=2, label="a seed diverged")
    return _save(figure, path, pdf, *_entry_legend(cells, colours, [diverged_entry]))


def failures_vs_step_size(cells: Cells, path: Path, pdf: bool = False) -> list[Path]:
    groups = _groups(cells)
    colours = group_colours(groups)
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5), layout="constrained")
    for entry, by_scale in cells.items():
        scales = list(by_scale)
        divergence = [np.mean([diverged(run) for run in runs]) for runs in by_scale.values()]
        failure = [np.mean([diverged(run) or collapsed(run) for run in runs]) for runs in by_scale.values()]
        axes[0].plot(scales, divergence, marker="o", color=colours[entry])
        axes[1].plot(scales, failure, marker="o", color=colours[entry])
        scales, mean, low, high = _per_scale(by_scale, lambda run: final(run, "sample_diversity"))
        axes[2].plot(scales, mean, marker="o", color=colours[entry])
        axes[2].fill_between(scales, low, high, color=colours[entry], alpha=0.2, linewidth=0)
    _note_if_empty(axes[2:])
    axes[2].axhline(COLLAPSE_THRESHOLD, color="0.3", linestyle="--", linewidth=1)
    titles = ("fraction of seeds diverged", "fraction diverged or collapsed",
              f"final sample diversity (dashed: collapse threshold {COLLAPSE_THRESHOLD:g})")
    for axis, title in zip(axes, titles):
        axis.set_xscale("log")
        axis.set_xlabel("step-size scale")
        axis.set_title(title, fontsize="medium")
        axis.grid(alpha=0.3, which="both")
    axes[0].set_ylim(-0.05, 1.05)
    axes[1].set_ylim(-0.05, 1.05)
    axes[2].set_ylabel("generated / data mean pairwise distance")
    figure.suptitle("Failures against the step size (collapsed: final sample diversity below the threshold)")
    return _save(figure, path, pdf, *_entry_legend(cells, colours))


def selected_curves(cells: Cells, selected: dict[str, float | None], path: Path, pdf: bool = False) -> list[Path]:
    chosen = [Group(f"{entry} (scale {selected[entry]:g})", cells[entry][selected[entry]])
              for entry in cells if selected[entry] is not None]
    colours = group_colours(chosen)
    clocks = {"grad_evals": "gradient evaluations", **CLOCK_LABELS}
    rows = (("recon_mse", "held-out test MSE"), ("probe_accuracy", "linear-probe accuracy"))
    figure, axes = plt.subplots(2, 3, figsize=(15, 8), sharey="row", layout="constrained")
    for group in chosen:
        for axes_row, (metric, _) in zip(axes, rows):
            for axis, clock in zip(axes_row, clocks):
                band = seed_band([(run.clock_at(run.curve(metric)[0], clock), run.curve(metric)[1])
                                  for run in group.runs])
                if band is None:
                    continue
                grid, mean, low, high = band
                axis.plot(grid, mean, color=colours[group.label])
                axis.fill_between(grid, low, high, color=colours[group.label], alpha=0.2, linewidth=0)
    for axes_row, (_, name) in zip(axes, rows):
        axes_row[0].set_ylabel(name)
        for axis, label in zip(axes_row, clocks.values()):
            axis.set_xlabel(label)
            axis.grid(alpha=0.3)
    figure.suptitle("At each optimizer's selected step size (selected on validation MSE): mean over seeds, "
                    "band min-max")
    return _save(figure, path, pdf, *_group_entries(chosen, colours))


def _entry_legend(cells: Cells, colours: dict, extra: Sequence[Line2D] = ()) -> tuple[list, list[str]]:
    """Legend entries: one line per entry with its seeds per scale, then ``extra``."""
    handles = [Line2D([], [], color=colours[entry], label=f"{entry} ({max(map(len, by_scale.values()))} seeds per scale)")
               for entry, by_scale in cells.items()]
    handles += extra
    return handles, [handle.get_label() for handle in handles]


def _note_if_empty(axes) -> None:
    """Say so on a panel whose metric no run logged (such as the probe on unlabelled data)."""
    for axis in axes:
        if not any(np.isfinite(line.get_ydata()).any() for line in axis.get_lines()):
            axis.plot([1], [0], alpha=0)  # something finite for the log scale to span
            axis.text(0.5, 0.5, "not logged by these runs", transform=axis.transAxes, ha="center", va="center")


COLUMNS = {
    "optimizer": "optimizer",
    "selected_scale": "selected scale",
    "seeds": "seeds",
    "valid_mse": "final validation MSE",
    "test_mse": "final test MSE",
    "test_mse_std": "± std",
    "probe_accuracy": "final probe accuracy",
    "probe_accuracy_std": "± std",
    "diverged_selected": "diverged (selected)",
    "diverged_all": "diverged (all scales)",
    "collapsed_all": "collapsed (all scales)",
    "time_to_target_s": "wall s to target",
    "reached_target": "reached target",
    "grad_evals": "grad evals",
}
"""CSV column names, and the headers of the Markdown table."""


def sweep_summary(cells: Cells, selected: dict[str, float | None]) -> tuple[list[dict], float]:
    """One row per entry (keys: :data:`COLUMNS`) and the validation-MSE target of the
    time-to-target column: the median of the selected runs' best validation MSE."""
    chosen = {entry: cells[entry][scale] for entry, scale in selected.items() if scale is not None}
    target = median_best([run for runs in chosen.values() for run in runs], SELECTION_METRIC)
    rows = []
    for entry, by_scale in cells.items():
        everything = [run for runs in by_scale.values() for run in runs]
        runs = chosen.get(entry, [])
        times = [time_to_target(run, SELECTION_METRIC, target) for run in runs]
        rows.append({
            "optimizer": entry,
            "selected_scale": selected[entry] if selected[entry] is not None else math.nan,
            "seeds": len(runs),
            "valid_mse": _mean([final(run, SELECTION_METRIC) for run in runs]),
            "test_mse": _mean([final(run, "recon_mse") for run in runs]),
            "test_mse_std": _std([final(run, "recon_mse") for run in runs]),
            "probe_accuracy": _mean([final(run, "probe_accuracy") for run in runs]),
            "probe_accuracy_std": _std([final(run, "probe_accuracy") for run in runs]),
            "diverged_selected": f"{sum(map(diverged, runs))}/{len(runs)}",
            "diverged_all": f"{sum(map(diverged, everything))}/{len(everything)}",
            "collapsed_all": f"{sum(map(collapsed, everything))}/{len(everything)}",
            "time_to_target_s": _mean(times),
            "reached_target": f"{sum(map(math.isfinite, times))}/{len(times)}",
            "grad_evals": _mean([final(run, "grad_evals") for run in runs]),
        })
    return rows, target


def write_sweep_summary(cells: Cells, selected: dict[str, float | None], out: Path) -> list[Path]:
    """Write ``summary.md`` and ``summary.csv`` into ``out``; return their paths."""
    rows, target = sweep_summary(cells, selected)
    markdown, table = out / "summary.md", out / "summary.csv"
    formats = {"selected_scale": "{:g}", "valid_mse": "{:.4g}", "test_mse": "{:.4g}", "test_mse_std": "{:.2g}",
               "probe_accuracy": "{:.3f}", "probe_accuracy_std": "{:.3f}", "time_to_target_s": "{:.1f}",
               "grad_evals": "{:.0f}"}
    lines = ["| " + " | ".join(COLUMNS.values()) + " |", "|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + "|"]
    for row in rows:
        lines.append("| " + " | ".join("—" if _is_nan(row[key]) else formats.get(key, "{}").format(row[key])
                                       for key in COLUMNS) + " |")
    notes = (
        "Selected scale: per optimizer, the step-size scale with the lowest mean over seeds of the final "
        "validation MSE (validation images are training images never trained on); scales where a seed diverged "
        "or did not complete are not eligible. Test MSE (held-out test images) and probe accuracy (linear probe "
        "of the encoder, scored on the held-out test images) are reported at the selected scale only, as mean "
        "and standard deviation over seeds; they select nothing. Diverged: a non-finite loss or gradient. "
        f"Collapsed: final sample diversity below {COLLAPSE_THRESHOLD:g}. Target: {target:.4g}, the median over "
        "all selected runs of their best validation MSE; wall s to target: training wall seconds to the first "
        "evaluation at or below it, mean over the seeds that reached it. Grad evals: cumulative gradient "
        "evaluations at the end (the budget).")
    markdown.write_text("\n".join(lines) + "\n\n" + notes + "\n")
    with table.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows({key: "" if _is_nan(value) else value for key, value in row.items()} for row in rows)
    return [markdown, table]


def _std(values: Sequence[float]) -> float:
    """Sample standard deviation (ddof 1) of the finite values; NaN with fewer than two."""
    finite = [value for value in values if math.isfinite(value)]
    return float(np.std(finite, ddof=1)) if len(finite) >= 2 else math.nan

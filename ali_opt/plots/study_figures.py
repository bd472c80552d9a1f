"""Figures of the two-stage study, drawn from its :class:`~ali_opt.records.study_results.StudyReport`.

Every number drawn comes from the report (:mod:`ali_opt.records.study_report`); this module
computes none. Each optimizer keeps its colour, line style and marker (:mod:`.styles`), every
tried scale is labelled on the log axes, and the baselines are grey lines (untrained dashed,
real vs real dotted, mean image dash-dot).

- ``stability_vs_step_size``: stage one's failure rate, mean loss oscillation and mean
  gradient-norm growth against the scale, one line per optimizer over its tried scales; a
  ring at the selected scale, a triangle in a row above the failure rates at the largest
  stable scale (pointing right: at least that scale; left: below it).
- ``outcomes_vs_step_size``: stage one's selection score against the scale: each seed a
  point, the mean a line (broken where a scale cannot be selected), a ring at the selected
  scale, an x at the top for seeds without a score (diverged).
- ``losses``: stage two at the selected scales: discriminator loss, generator loss and their
  gap against FLOPs, each seed faint, the mean over seeds thick.
- ``selected_curves``: stage two's outcomes (the primary, coverage, then the others logged)
  against FLOPs: each seed faint, the mean over seeds with its 95% t band.
- ``pairs``: each pair's difference of the primary with its 95% interval, the ± equivalence
  margin as a grey band, and a zero line; the verdict under each pair's name.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..records.selection import lower_is_better
from ..records.statistics import CONFIDENCE
from ..records.step_size_summary import metric_label
from ..records.study_results import CurveBand, StudyReport
from .curves import EQUILIBRIUM_LOSS, save_with_legend
from .step_size_figures import CLOCK_NAMES
from .styles import (DIVERGED, FLOOR, MEAN_IMAGE, UNTRAINED, dodge, entry_styles, mark_top, reference_line,
                     scale_axis)

STABILITY_PANELS = (("failure_rate", "fraction of seeds failed", "failed: diverged, or final outcome degraded"),
                    ("loss_oscillation", "loss oscillation", "sd of loss_g - loss_d over the second half"),
                    ("grad_norm_growth", "gradient-norm growth", "largest norm, second half / first half"))
STABLE_MARKERS = {"exact": "v", "at least": ">", "below": "<"}
STABLE_ROW = 1.13
"""The height, on the failure-rate panel, of the row of largest-stable-scale marks (above the rates)."""
LOSS_PANELS = (("loss_d", "discriminator loss", EQUILIBRIUM_LOSS), ("loss_g", "generator loss", EQUILIBRIUM_LOSS),
               ("loss_gap", "loss gap (loss_g - loss_d)", 0.0))
REFERENCES = (("untrained", UNTRAINED, "untrained"), ("floor", FLOOR, "real vs real"),
              ("mean_image", MEAN_IMAGE, "mean image"))


def draw_study(report: StudyReport, out: Path, pdf: bool = False) -> list[Path]:
    """Every figure of the study (module docstring) into ``out``; return the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return [*stability_vs_step_size(report, out / "stability_vs_step_size.png", pdf),
            *outcomes_vs_step_size(report, out / "outcomes_vs_step_size.png", pdf),
            *losses(report, out / "losses.png", pdf),
            *selected_curves(report, out / "selected_curves.png", pdf),
            *pairs(report, out / "pairs.png", pdf)]


def _tried_scales(report: StudyReport) -> list[float]:
    return sorted({scale for grid in report.grids.values() for scale in grid}
                  | {scale for by_scale in report.stability.values() for scale in by_scale})


def _ring(axis, x: float, y: float, colour) -> None:
    axis.plot([x], [y], marker="o", markersize=13, markerfacecolor="none", markeredgecolor=colour,
              markeredgewidth=1.5, linestyle="none")


def _entry_handles(report: StudyReport, styles: dict, stage: str) -> list[Line2D]:
    handles = []
    for entry in report.entries:
        if stage == "selection":
            detail = f"{report.selection_seeds(entry)} seeds per scale"
        else:
            scale = report.selected.get(entry)
            detail = (f"scale {scale:g}, {len(report.confirmation_runs(entry))} seeds" if scale is not None
                      else "no scale selected")
        handles.append(Line2D([], [], **styles[entry], label=f"{entry} ({detail})"))
    return handles


def _save(figure, path: Path, pdf: bool, handles: list) -> list[Path]:
    kept = list({handle.get_label(): handle for handle in handles}.values())
    return save_with_legend(figure, path, pdf, kept, [handle.get_label() for handle in kept])


def stability_vs_step_size(report: StudyReport, path: Path, pdf: bool = False) -> list[Path]:
    styles = entry_styles(report.entries)
    scales = _tried_scales(report)
    figure, axes = plt.subplots(1, 3, figsize=(15, 5.2), layout="constrained")
    for index, entry in enumerate(report.entries):
        by_scale = report.stability.get(entry, {})
        if not by_scale:
            continue
        xs = dodge(list(by_scale), index, len(report.entries), scales)
        style = styles[entry]
        for axis, (field, _, _) in zip(axes, STABILITY_PANELS):
            ys = np.array([getattr(item, field) for item in by_scale.values()], dtype=float)
            axis.plot(xs, ys, **style, markersize=6, linewidth=1.4)
            if report.selected.get(entry) in by_scale:
                where = list(by_scale).index(report.selected[entry])
                _ring(axis, xs[where], ys[where], style["color"])
        stable = report.largest_stable.get(entry)
        if stable is not None:
            x = dodge([stable.scale], index, len(report.entries), scales)[0]
            axes[0].plot([x], [STABLE_ROW], color=style["color"], marker=STABLE_MARKERS[stable.bound], markersize=10,
                         linestyle="none")
    axes[0].set_ylim(-0.05, STABLE_ROW + 0.08)
    axes[0].set_yticks(np.linspace(0, 1, 6))
    axes[0].axhline(1.06, color="0.75", linewidth=0.8)
    axes[2].axhline(1.0, **UNTRAINED)
    for axis in axes[1:]:  # oscillation and growth span decades where a scale blows up
        axis.set_yscale("log")
    for axis, (_, label, title) in zip(axes, STABILITY_PANELS):
        axis.set_ylabel(label)
        axis.set_title(title, fontsize="medium")
        scale_axis(axis, scales)
        axis.grid(alpha=0.3)
    figure.suptitle("Stability against the step size (stage one, mean over the selection seeds; optimizers dodged "
                    "slightly along the axis)")
    extra = [Line2D([], [], color="0.3", marker="o", markersize=11, markerfacecolor="none", linestyle="none",
                    label="ring: the selected scale"),
             Line2D([], [], color="0.3", marker="v", linestyle="none",
                    label="top row: largest stable scale (▼; ▶ at least, ◀ below)"),
             Line2D([], [], **UNTRAINED, label="growth 1: the gradient norm did not grow")]
    return _save(figure, path, pdf, _entry_handles(report, styles, "selection") + extra)


def outcomes_vs_step_size(report: StudyReport, path: Path, pdf: bool = False) -> list[Path]:
    styles = entry_styles(report.entries)
    scales = _tried_scales(report)
    by = report.rule.select_by
    figure, axis = plt.subplots(figsize=(11, 6.2), layout="constrained")
    for index, entry in enumerate(report.entries):
        style, seeds = styles[entry], report.seed_scores.get(entry, {})
        scored = report.scores.get(entry, {})
        xs = dodge(list(scored), index, len(report.entries), scales)
        axis.plot(xs, list(scored.values()), **style, markersize=7, linewidth=1.4)
        for x, scale in zip(xs, scored):
            values = np.array(seeds.get(scale, ()), dtype=float)
            axis.plot(np.full(len(values), x), values, color=style["color"], marker=style["marker"], markersize=4,
                      alpha=0.5, linestyle="none")
            if np.isnan(values).any():
                mark_top(axis, x, style["color"], int(np.isnan(values).sum()))
            if scale == report.selected.get(entry):
                _ring(axis, x, scored[scale], style["color"])
    references = [reference_line(axis, report.selection_baselines[key], style, label)
                  for key, style, label in REFERENCES]
    scale_axis(axis, scales)
    axis.grid(alpha=0.3)
    axis.set_ylabel(f"{metric_label(by)} ({'lower' if report.rule.lower_is_better else 'higher'} is better)")
    figure.suptitle(f"Stage one: the selection score against the step size ({report.rule.describe()})\nsmall "
                    "points: seeds; line: their mean, broken where a scale cannot be selected; ring: selected")
    extra = [Line2D([], [], color="0.3", **DIVERGED, label="x at the top: seeds without a score (diverged)")]
    return _save(figure, path, pdf, _entry_handles(report, styles, "selection")
                 + [line for line in references if line is not None] + extra)


def _draw_band(axis, band: CurveBand, style: dict, interval: bool) -> None:
    """Each seed faint (an x where one stopped early), the mean thick, its interval as a band."""
    for (x, y), stopped in zip(band.seeds, band.diverged):
        axis.plot(x, y, color=style["color"], linewidth=0.7, alpha=0.45)
        if stopped and len(x):
            axis.plot(x[-1], y[-1], color=style["color"], **DIVERGED)
    if len(band.x):
        axis.plot(band.x, band.mean, **style, linewidth=1.8, markersize=4)
        if interval:
            axis.fill_between(band.x, band.low, band.high, color=style["color"], alpha=0.18, linewidth=0)


def _curve_panels(report: StudyReport, path: Path, pdf: bool, panels, interval: bool, title: str) -> list[Path]:
    """One panel per ``(metric, label, references)`` of stage two's curves against the clock."""
    styles = entry_styles(report.entries)
    columns = 1 if len(panels) == 1 else 2 if len(panels) in (2, 4) else 3
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 4.4 * rows), squeeze=False, sharex=True,
                                layout="constrained")
    handles = _entry_handles(report, styles, "confirmation")
    for axis, (metric, label, lines) in zip(axes.flat, panels):
        for entry, by_metric in report.curves.items():
            if metric in by_metric:
                _draw_band(axis, by_metric[metric], styles[entry], interval)
        handles += [line for line in (reference_line(axis, value, style, name) for value, style, name in lines)
                    if line is not None]
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    for axis in axes.flat[len(panels):]:
        axis.set_visible(False)
    for axis in axes[-1]:
        axis.set_xlabel(CLOCK_NAMES.get(report.clock, str(report.clock)))
    figure.suptitle(title)
    handles.append(Line2D([], [], color="0.3", linewidth=0.7, alpha=0.5, label="one seed"))
    handles.append(Line2D([], [], color="0.3", **DIVERGED, label="last point of a seed that stopped early (diverged)"))
    return _save(figure, path, pdf, handles)


def losses(report: StudyReport, path: Path, pdf: bool = False) -> list[Path]:
    panels = [(metric, label, [(reference, UNTRAINED, "both players at the equilibrium: 2 log 2" if reference else
                                "no gap")]) for metric, label, reference in LOSS_PANELS]
    return _curve_panels(report, path, pdf, panels, interval=False,
                         title="Stage two at the selected step sizes: the players' losses (thin: each seed; thick: "
                               "the mean over seeds)")


def selected_curves(report: StudyReport, path: Path, pdf: bool = False) -> list[Path]:
    metrics = sorted(report.outcome_metrics, key=lambda metric: (metric != report.primary, metric != "coverage"))
    panels = []
    for metric in metrics:
        direction = "" if metric == "density" else f" ({'lower' if lower_is_better(metric) else 'higher'} is better)"
        lines = [(report.baselines[metric][key], style, name) for key, style, name in REFERENCES]
        panels.append((metric, metric_label(metric) + direction + (", primary" if metric == report.primary else ""),
                       lines))
    return _curve_panels(report, path, pdf, panels, interval=True,
                         title=f"Stage two at the selected step sizes: outcomes against compute (thin: each seed; "
                               f"thick: the mean over seeds, band: its {CONFIDENCE:.0%} t interval)")


def pairs(report: StudyReport, path: Path, pdf: bool = False) -> list[Path]:
    comparisons = report.comparisons
    figure, axis = plt.subplots(figsize=(10, 1.6 + 1.0 * max(len(comparisons), 1)), layout="constrained")
    if math.isfinite(report.margin):
        axis.axvspan(-report.margin, report.margin, color="0.85", linewidth=0)
    axis.axvline(0.0, color="0.3", linewidth=1.0)
    for row, pair in enumerate(comparisons):
        axis.errorbar([pair.difference], [row], xerr=[[pair.difference - pair.difference_low],
                                                      [pair.difference_high - pair.difference]],
                      color="0.1", marker="o", markersize=7, capsize=6, linewidth=1.8)
    axis.set_yticks(range(len(comparisons)), [f"{pair.a} − {pair.b}\n{pair.verdict}" for pair in comparisons])
    axis.set_ylim(max(len(comparisons), 1) - 0.5, -0.5)
    if not comparisons:
        axis.text(0.5, 0.5, "fewer than two optimizers in stage two: no pair", transform=axis.transAxes,
                  ha="center", va="center")
    better = "lower" if lower_is_better(report.primary) else "higher"
    axis.set_xlabel(f"difference of the means of {metric_label(report.primary)}, A − B ({better} is better)")
    axis.grid(axis="x", alpha=0.3)
    figure.suptitle(f"Each pair on fresh seeds: the difference and its {CONFIDENCE:.0%} t interval; the verdict "
                    "under each pair")
    handles = [Line2D([], [], color="0.1", marker="o", linewidth=1.8, label=f"difference, {CONFIDENCE:.0%} interval"),
               Patch(color="0.85", label=f"± equivalence margin ({report.margin:.3g})"),
               Line2D([], [], color="0.3", linewidth=1.0, label="no difference")]
    return _save(figure, path, pdf, handles)

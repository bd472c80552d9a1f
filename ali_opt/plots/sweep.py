"""Figures and summary tables of a step-size sweep (the main study), from its runs.

The selection rule, the final value of a run (the mean of its last evaluations) and the
time-to-target rule are in :mod:`ali_opt.records.selection`; the intervals, tests and
verdicts in :mod:`ali_opt.records.statistics`. Every figure gives each optimizer its own
colour, line style and marker (:mod:`.styles`), labels every scale on its log axis, and
draws the untrained model (grey dashed), the real-vs-real floor (grey dotted) and, for MSE,
the mean image (grey dash-dot) where the runs logged them.

- ``stability_vs_step_size``: per outcome (``select_by`` on validation, as selection scores
  it; KID, recall, reconstruction MSE on the test images), the final value against the
  scale: mean over the seeds that did not diverge, with its 95% bootstrap interval (band and
  bar); optimizers dodged a little along the axis; an x at the top of a panel for each scale
  where seeds diverged (with their number when more than one); a ring at the selected scale.
- ``failures_vs_step_size``: the fraction of seeds that diverged, and the final recall (low
  recall: mode collapse), against the scale.
- ``selected_curves``: at each optimizer's selected scale, ``select_by``, KID, recall and
  reconstruction MSE against FLOPs (gradient evaluations for runs that did not log FLOPs)
  and against CPU time: each seed thin, the mean over seeds with its 95% bootstrap band
  drawn up to the last evaluation every seed reached; a seed that ended early ends in an x.
- ``summary.md`` / ``summary.csv``: per optimizer, the selected scale, each outcome's mean
  and interval there beside the untrained value and the floors, the diverged fraction and
  the time to target; ``pairwise.csv`` and a table in ``summary.md``: every pair of
  optimizers compared on the test images' counterpart of ``select_by``; ``time_to_target.csv``: each selected run's.
"""
from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.lines import Line2D

from ..records.runs import Run
from ..records.selection import (FLOORS, MEAN_IMAGE, Cells, Rule, base_metric, baseline, diverged, final_value,
                                 logged_metrics, lower_is_better, run_score, select_with, selection_rule,
                                 step_reaching, target_for, untrained)
from ..records.statistics import ALPHA, CONFIDENCE, Comparison, bootstrap_intervals, compare_pairs, mean_interval
from .curves import _save
from .styles import (DIVERGED, FLOOR, MEAN_IMAGE as MEAN_IMAGE_STYLE, UNTRAINED, dodge, entry_styles, mark_top,
                     reference_line, scale_axis)

OUTCOMES = ("kid", "fid", "precision", "recall", "recon_mse", "probe_accuracy")
"""Outcomes reported at the selected scale (test images; the probe is scored on them too)."""

NAMES = {"kid": "KID", "fid": "FID", "precision": "precision", "recall": "recall",
         "recon_mse": "reconstruction MSE", "probe_accuracy": "linear-probe accuracy"}

FIGURE_OUTCOMES = ("kid", "recall", "recon_mse")
"""The test outcomes drawn beside ``select_by`` in the figures."""


def draw_sweep(cells: Cells, out: Path, pdf: bool = False, select_by: str | None = None,
               select_last: int | None = None, select_rule: str | None = None) -> list[Path]:
    """Every sweep figure and the sweep summary of ``cells`` (see
    :func:`~ali_opt.records.selection.sweep_runs`), selected by the rule that
    :func:`~ali_opt.records.selection.selection_rule` resolves."""
    rule = selection_rule(cells, select_by, select_last, select_rule)
    selected = select_with(cells, rule)
    return [
        *stability_vs_step_size(cells, out / "stability_vs_step_size.png", pdf, rule, selected),
        *failures_vs_step_size(cells, out / "failures_vs_step_size.png", pdf, rule),
        *selected_curves(cells, selected, out / "selected_curves.png", pdf, rule),
        *write_sweep_summary(cells, selected, out, rule),
    ]


def name(metric: str) -> str:
    """A metric as axis labels read: ``KID (validation)``, ``recall (test)``."""
    where = "validation" if metric.endswith("_valid") else "test"
    return f"{NAMES.get(base_metric(metric), metric)} ({where})"


def _all_runs(cells: Cells) -> list[Run]:
    return [run for by_scale in cells.values() for runs in by_scale.values() for run in runs]


def _scales(cells: Cells) -> list[float]:
    return sorted({scale for by_scale in cells.values() for scale in by_scale})


def _mean(values) -> float:
    finite = [value for value in values if math.isfinite(value)]
    return float(np.mean(finite)) if finite else math.nan


def references(runs: Sequence[Run], metric: str) -> dict[str, float]:
    """Means over ``runs`` of the untrained value of ``metric``, its real-vs-real floor and,
    for an MSE, the mean-image MSE (NaN where not logged)."""
    floor = FLOORS.get(base_metric(metric))
    return {"untrained": _mean(untrained(run, metric) for run in runs),
            "floor": _mean(baseline(run, floor) for run in runs) if floor else math.nan,
            "mean_image": _mean(baseline(run, MEAN_IMAGE) for run in runs) if base_metric(metric) == "recon_mse"
            else math.nan}


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
    runs = _all_runs(cells)
    styles = entry_styles(list(cells))
    panels = [(rule.select_by, lambda run: run_score(run, rule),
               f"{name(rule.select_by)}: {rule.describe().split(', ', 1)[1]}\n(the selection score; ring: selected)")]
    panels += [(metric, lambda run, metric=metric: final_value(run, metric, rule.select_last),
                f"{name(metric)}: mean of the last {rule.select_last} evaluations") for metric in FIGURE_OUTCOMES]
    figure, axes = plt.subplots(2, 2, figsize=(13, 9.5), layout="constrained")
    references_drawn = [_diverged_handle()]
    for axis, (metric, value, title) in zip(axes.flat, panels):
        if not _note_if_empty(axis, metric, runs):
            _outcome_panel(axis, cells, styles, value, selected if metric == rule.select_by else None)
            references_drawn += _draw_references(axis, runs, metric)
        axis.set_title(title, fontsize="medium")
        axis.set_ylabel(name(metric) + (" (lower is better)" if lower_is_better(metric) else " (higher is better)"))
        scale_axis(axis, _scales(cells))
        axis.grid(alpha=0.3)
    figure.suptitle(f"Final outcome against the step size: mean over the seeds that did not diverge,\n"
                    f"{CONFIDENCE:.0%} bootstrap interval (band and bar); optimizers dodged slightly along the axis")
    return _save(figure, path, pdf, *_entry_handles(cells, styles, references_drawn))


def failures_vs_step_size(cells: Cells, path: Path, pdf: bool = False, rule: Rule | None = None) -> list[Path]:
    rule = rule or selection_rule(cells)
    runs = _all_runs(cells)
    styles = entry_styles(list(cells))
    scales = _scales(cells)
    figure, axes = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")
    for index, (entry, by_scale) in enumerate(cells.items()):
        fractions = [np.mean([diverged(run) for run in seeds]) for seeds in by_scale.values()]
        axes[0].plot(dodge(list(by_scale), index, len(cells), scales), fractions, **styles[entry], markersize=6)
    extra = []
    if not _note_if_empty(axes[1], "recall", runs):
        _outcome_panel(axes[1], cells, styles, lambda run: final_value(run, "recall", rule.select_last))
        extra = _draw_references(axes[1], runs, "recall")
    axes[0].set_ylim(-0.05, 1.05)
    axes[0].set_ylabel("fraction of seeds diverged")
    axes[0].set_title("diverged: training stopped at a non-finite loss or gradient", fontsize="medium")
    axes[1].set_ylabel("recall (test; higher is better)")
    axes[1].set_title(f"final recall (mean of the last {rule.select_last} evaluations; low recall: mode collapse),\n"
                      f"mean over non-diverged seeds, {CONFIDENCE:.0%} bootstrap interval", fontsize="medium")
    for axis in axes:
        scale_axis(axis, scales)
        axis.grid(alpha=0.3)
    figure.suptitle("Failures against the step size (optimizers dodged slightly along the axis)")
    return _save(figure, path, pdf, *_entry_handles(cells, styles, [_diverged_handle(), *extra]))


def _seed_curves(runs: Sequence[Run], metric: str, clock: str | None):
    """Per seed ``(x, y)`` of ``metric`` against ``clock`` (steps for None), finite values only;
    and the mean x, the values of every seed (rows) at the steps every seed logged, in order."""
    curves, by_step = [], []
    for run in runs:
        steps, values = run.curve(metric)
        keep = np.isfinite(values)
        steps, values = steps[keep], values[keep]
        x = run.clock_at(steps, clock) if clock else steps.astype(float)
        curves.append((x, values))
        by_step.append(dict(zip(steps.tolist(), zip(x, values))))
    common = sorted(set.intersection(*(set(points) for points in by_step))) if by_step else []
    if not common:
        return curves, None
    x = np.array([[points[step][0] for step in common] for points in by_step])
    y = np.array([[points[step][1] for step in common] for points in by_step])
    return curves, (np.mean(x, axis=0), y)


def _compute_clock(runs: Sequence[Run]) -> str | None:
    logged = [logged_metrics([run]) for run in runs]
    return next((clock for clock in ("flops", "grad_evals") if runs and all(clock in names for names in logged)),
                None)


CLOCK_NAMES = {"flops": "FLOPs (measured, optimizer steps)", "grad_evals": "gradient evaluations",
               None: "training step", "cpu_time": "CPU time (s, training only, all threads)"}


def selected_curves(cells: Cells, selected: dict[str, float | None], path: Path, pdf: bool = False,
                    rule: Rule | None = None) -> list[Path]:
    rule = rule or selection_rule(cells)
    chosen = {entry: cells[entry][scale] for entry, scale in selected.items() if scale is not None}
    runs = [run for seeds in chosen.values() for run in seeds]
    styles = entry_styles(list(cells))
    compute = _compute_clock(runs)
    clocks = (compute, "cpu_time")
    metrics = (rule.select_by, *FIGURE_OUTCOMES)
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
        row[0].set_ylabel(name(metric))
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
    return _save(figure, path, pdf, handles, [handle.get_label() for handle in handles])


def _selected_panel(axis, seeds: Sequence[Run], metric: str, clock: str | None, style: dict) -> None:
    curves, common = _seed_curves(seeds, metric, clock)
    for run, (x, y) in zip(seeds, curves):
        axis.plot(x, y, color=style["color"], linewidth=0.7, alpha=0.5)
        if diverged(run) and len(x):
            axis.plot(x[-1], y[-1], color=style["color"], **DIVERGED)
    if common is None:
        return
    x, values = common
    low, high = bootstrap_intervals(values)
    axis.plot(x, np.mean(values, axis=0), **style, linewidth=1.8, markersize=4)
    axis.fill_between(x, low, high, color=style["color"], alpha=0.18, linewidth=0)


@dataclass
class SweepSummary:
    """The sweep's summary: one row per entry (keys: ``columns``), the pairwise comparisons,
    and the time-to-target target with the baseline and best value it lies between."""

    rule: Rule
    rows: list[dict]
    columns: dict[str, str]
    comparisons: list[Comparison]
    target: float
    baseline: float
    best: float
    outcomes: list[str] = field(default_factory=list)
    times: list[dict] = field(default_factory=list)
    compared: str = ""
    """The metric the pairs are compared on: the test images' counterpart of ``select_by``."""


def sweep_summary(cells: Cells, selected: dict[str, float | None], rule: Rule | None = None) -> SweepSummary:
    """Per entry, at its selected scale: each outcome's mean over seeds of the final value and
    its bootstrap interval, with the untrained value and the floors; the diverged fraction over
    all scales; FLOPs and CPU seconds to the target (see
    :func:`~ali_opt.records.selection.target_for`). And every pair of entries compared on the
    final value per seed of :func:`compared_metric` (:func:`~ali_opt.records.statistics.compare_pairs`)."""
    rule = rule or selection_rule(cells)
    chosen = {entry: cells[entry][scale] for entry, scale in selected.items() if scale is not None}
    logged = logged_metrics(_all_runs(cells))
    outcomes = [rule.select_by, *(metric for metric in OUTCOMES if metric in logged)]
    columns = {"optimizer": "optimizer", "selected_scale": "selected scale", "seeds": "seeds"}
    for metric in outcomes:
        columns |= {metric: name(metric), f"{metric}_low": "95% low", f"{metric}_high": "95% high",
                    f"{metric}_untrained": "untrained"}
        if base_metric(metric) in FLOORS:
            columns[f"{metric}_floor"] = "real vs real"
        if base_metric(metric) == "recon_mse":
            columns[f"{metric}_mean_image"] = "mean image"
    columns |= {"diverged_all": "diverged (all scales)", "diverged_fraction": "diverged fraction",
                "flops_to_target": "FLOPs to target", "cpu_s_to_target": "CPU s to target",
                "reached_target": "seeds at target", "flops": "FLOPs (end)", "grad_evals": "grad evals (end)"}
    target, start, top = target_for([run for seeds in chosen.values() for run in seeds], rule.select_by)
    lower = rule.lower_is_better
    rows, times = [], []
    for entry, by_scale in cells.items():
        everything = [run for runs in by_scale.values() for run in runs]
        runs = chosen.get(entry, [])
        row = {"optimizer": entry, "selected_scale": selected.get(entry) if selected.get(entry) is not None
               else math.nan, "seeds": len(runs)}
        for metric in outcomes:
            interval = mean_interval([final_value(run, metric, rule.select_last) for run in runs])
            refs = references(runs, metric)
            row |= {metric: interval.mean, f"{metric}_low": interval.low, f"{metric}_high": interval.high,
                    f"{metric}_untrained": refs["untrained"]}
            if f"{metric}_floor" in columns:
                row[f"{metric}_floor"] = refs["floor"]
            if f"{metric}_mean_image" in columns:
                row[f"{metric}_mean_image"] = refs["mean_image"]
        reached = []
        for run in runs:
            step = step_reaching(run, rule.select_by, target, lower) if math.isfinite(target) else None
            flops, cpu = (run.clock_at(np.array([step]), clock)[0] for clock in ("flops", "cpu_time")) \
                if step is not None else (math.nan, math.nan)
            times.append({"optimizer": entry, "scale": selected[entry], "seed": run.seed, "folder": str(run.folder),
                          "step": step if step is not None else "not reached",
                          "flops": float(flops) if step is not None else "not reached",
                          "cpu_s": float(cpu) if step is not None else "not reached"})
            reached.append((step, flops, cpu))
        hits = [(flops, cpu) for step, flops, cpu in reached if step is not None]
        row |= {"diverged_all": f"{sum(map(diverged, everything))}/{len(everything)}",
                "diverged_fraction": float(np.mean([diverged(run) for run in everything])) if everything else math.nan,
                "flops_to_target": _mean(flops for flops, _ in hits) if hits else "not reached",
                "cpu_s_to_target": _mean(cpu for _, cpu in hits) if hits else "not reached",
                "reached_target": f"{len(hits)}/{len(runs)}",
                "flops": _mean(_last(run, "flops") for run in runs),
                "grad_evals": _mean(_last(run, "grad_evals") for run in runs)}
        if not runs or not math.isfinite(target):
            row["flops_to_target"] = row["cpu_s_to_target"] = row["reached_target"] = math.nan
        rows.append(row)
    compared = compared_metric(rule.select_by, logged)
    finals = {entry: [final_value(run, compared, rule.select_last) for run in runs] for entry, runs in chosen.items()}
    return SweepSummary(rule, rows, columns, compare_pairs(finals), target, start, top, outcomes, times, compared)


def compared_metric(select_by: str, logged: set[str]) -> str:
    """What the pairs of optimizers are compared on: the held-out test images' counterpart of
    ``select_by`` (``kid`` for ``kid_valid``), when the runs logged it. The validation values
    chose each optimizer's scale, so comparing on them would carry the selection's optimism
    (the winner's curse) into the test; the test images chose nothing."""
    counterpart = base_metric(select_by)
    return counterpart if counterpart in logged else select_by


def _last(run: Run, metric: str) -> float:
    values = run.curve(metric)[1]
    return float(values[-1]) if len(values) else math.nan


def write_sweep_summary(cells: Cells, selected: dict[str, float | None], out: Path,
                        rule: Rule | None = None) -> list[Path]:
    """Write ``summary.md``, ``summary.csv``, ``pairwise.csv`` and ``time_to_target.csv`` into
    ``out``; return their paths."""
    summary = sweep_summary(cells, selected, rule)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "summary.md", out / "summary.csv", out / "pairwise.csv", out / "time_to_target.csv"]
    paths[0].write_text(_markdown(summary))
    _write_csv(paths[1], list(summary.columns), summary.rows)
    pairs = [{"optimizer_a": pair.a, "optimizer_b": pair.b, "seeds_a": pair.n_a, "seeds_b": pair.n_b,
              f"{summary.compared}_a": pair.mean_a, f"{summary.compared}_b": pair.mean_b,
              "p": pair.p, "p_holm": pair.p_holm, "min_achievable_p": pair.min_p, "verdict": pair.verdict}
             for pair in summary.comparisons]
    _write_csv(paths[2], ["optimizer_a", "optimizer_b", "seeds_a", "seeds_b", f"{summary.compared}_a",
                          f"{summary.compared}_b", "p", "p_holm", "min_achievable_p", "verdict"], pairs)
    _write_csv(paths[3], ["optimizer", "scale", "seed", "folder", "step", "flops", "cpu_s"], summary.times)
    return paths


def _write_csv(path: Path, fieldnames: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows({key: "" if _is_nan(value) else value for key, value in row.items()} for row in rows)


def _is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _number(value, digits: int = 4) -> str:
    if isinstance(value, str):
        return value
    if value is None or _is_nan(value):
        return "—"
    return f"{value:.{digits}g}"


def _with_interval(row: dict, metric: str) -> str:
    if _is_nan(row[metric]):
        return "—"
    text = _number(row[metric])
    if row[f"{metric}_low"] != row[f"{metric}_high"]:
        text += f" [{_number(row[f'{metric}_low'], 3)}, {_number(row[f'{metric}_high'], 3)}]"
    return text


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
            *("| " + " | ".join(row) + " |" for row in rows)]


def _markdown(summary: SweepSummary) -> str:
    rule, rows = summary.rule, summary.rows
    by = rule.select_by
    direction = "lower" if rule.lower_is_better else "higher"
    lines = ["# Step-size sweep", "",
             f"Selected scale: per optimizer, the step-size scale with the best ({direction}) mean over seeds of "
             f"{rule.describe()}, on the validation images (training images set aside, never trained "
             "on). A scale where any seed diverged or did not complete is not eligible; ties go to the smaller "
             "scale. Test-image outcomes are reported at the selected scale only; they select nothing.", "",
             "## Selected scales", ""]
    reference = "floor" if base_metric(by) in FLOORS else "mean_image" if base_metric(by) == "recon_mse" else None
    lines += _table(["optimizer", "selected scale", "seeds", "diverged (all scales)", f"{name(by)}, final",
                     "untrained", *({"floor": ["real vs real"], "mean_image": ["mean image"]}.get(reference, [])),
                     "FLOPs to target", "CPU s to target", "seeds at target"],
                    [[row["optimizer"], _number(row["selected_scale"]), str(row["seeds"]), row["diverged_all"],
                      _with_interval(row, by), _number(row[f"{by}_untrained"]),
                      *([_number(row[f"{by}_{reference}"])] if reference else []), _number(row["flops_to_target"], 3),
                      _number(row["cpu_s_to_target"], 3), _number(row["reached_target"])] for row in rows])
    target = (f"{summary.target:.4g}, halfway from the best baseline ({summary.baseline:.4g}: the untrained model "
              f"at step 0, for an MSE also the mean image) to the best value any selected run reached "
              f"({summary.best:.4g})" if math.isfinite(summary.target) else
              "none: no step-0 baseline was logged, or no selected run got better than it")
    lines += ["", f"Final: mean of the last {rule.select_last} evaluations after step 0, per seed; then the mean "
              f"over seeds and its {CONFIDENCE:.0%} percentile bootstrap interval [low, high] (no interval: one "
              f"seed, or seeds that agree). Target on {by}: {target}. FLOPs and CPU s to target: at the first "
              "evaluation at or past the target, mean over the seeds that reached it (per seed: "
              "time_to_target.csv); \"not reached\" when none did. Diverged: training stopped at a non-finite "
              "loss or gradient.", "", "## Outcomes at the selected scale", ""]
    outcomes = [metric for metric in summary.outcomes if metric != by]
    if outcomes:
        lines += _table(["optimizer", *map(name, outcomes)],
                        [[row["optimizer"], *(_with_interval(row, metric) for metric in outcomes)] for row in rows])
        chosen = [row for row in rows if row["seeds"]]
        for label, suffix in (("untrained (step 0)", "untrained"), ("real vs real", "floor"),
                              ("mean image", "mean_image")):
            values = [_number(_mean(row.get(f"{metric}_{suffix}", math.nan) for row in chosen))
                      for metric in outcomes]
            if any(value != "—" for value in values):
                lines.append(f"| *{label}* | " + " | ".join(values) + " |")
        lines += ["", "Mean over seeds of the final value [95% bootstrap interval]. Untrained: the model at step 0; "
                  "real vs real: training-image features against validation-image features, what a generator "
                  "matching the data would score; mean image: the MSE of the mean training image. Mode collapse "
                  "shows as low recall. Means over the selected runs; per optimizer in summary.csv."]
    else:
        lines.append("These runs logged no test outcome.")
    lines += ["", f"## Pairs of optimizers on {name(summary.compared)} (test images; the selection read "
                  f"{name(by)})", ""]
    if summary.comparisons:
        lines += _table(["optimizer A", "optimizer B", "seeds", "mean A", "mean B", "p", "p (Holm)", "verdict"],
                        [[pair.a, pair.b, f"{pair.n_a} vs {pair.n_b}", _number(pair.mean_a), _number(pair.mean_b),
                          _number(pair.p, 3), _number(pair.p_holm, 3), pair.verdict]
                         for pair in summary.comparisons])
        lines += ["", _power_note(summary.comparisons)]
    else:
        lines.append("Fewer than two optimizers have a selected scale: nothing to compare.")
    return "\n".join(lines) + "\n"


def _power_note(comparisons: Sequence[Comparison]) -> str:
    """What the tests can say at these numbers of seeds: the smallest p-value each can reach."""
    sizes = sorted({(pair.n_a, pair.n_b, pair.min_p) for pair in comparisons if not math.isnan(pair.min_p)})
    family = sum(not math.isnan(pair.p) for pair in comparisons)
    reach = "; ".join(f"{n_a} vs {n_b} seeds: {min_p:.3g}" for n_a, n_b, min_p in sizes)
    smallest = min((min_p for _, _, min_p in sizes), default=math.nan)
    possible = not math.isnan(smallest) and smallest * family < ALPHA
    return (f"p: two-sided permutation test of the difference of the means over seeds of the final value "
            f"(exact: every split of the seeds). Holm: adjusted for all {family} pairs. Verdict: separated when the "
            f"Holm-adjusted p is below {ALPHA:g}. The smallest p a permutation test can give is 2 / C(n_a + n_b, n_a) "
            f"({reach}), and Holm multiplies the smallest p of the {family} by {family}: "
            + ("so a pair can be separated at these numbers of seeds only if the difference is consistent across "
               "every seed." if possible else
               f"so at these numbers of seeds no pair can be separated at {ALPHA:g}, whatever the difference; "
               "\"not separated\" here says nothing about whether the optimizers differ. More seeds are needed "
               "(at 8 vs 8, the smallest p is 0.00016)."))

"""The summary tables of a step-size sweep (the main study), from its runs.

Per optimizer (``summary.md`` and ``summary.csv``): the selected scale (the rule is in
:mod:`ali_opt.records.selection`); at it, each outcome's mean over seeds of the final value
with its bootstrap interval (:func:`~ali_opt.records.statistics.mean_interval`) beside the
untrained value and the floors; the diverged fraction over all scales; FLOPs and CPU
seconds to the target (:func:`~ali_opt.records.selection.target_for`), each selected run's
in ``time_to_target.csv``. Every pair of optimizers compared on the test images' counterpart
of ``select_by`` (:func:`compared_metric`, :func:`~ali_opt.records.statistics.compare_pairs`):
``pairwise.csv`` and a table in ``summary.md``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .runs import Run
from .selection import (FLOORS, Cells, Rule, base_metric, cell_runs, diverged, final_value, logged_metrics,
                        references, selection_rule, step_reaching, target_for)
from .statistics import ALPHA, CONFIDENCE, Comparison, compare_pairs, mean_interval
from .tables import finite_mean, format_number, is_nan, markdown_table, write_csv

OUTCOMES = ("kid", "fid", "precision", "recall", "coverage", "density", "recon_mse", "probe_accuracy")
"""Outcomes reported at the selected scale (test images; the probe is scored on them too)."""

NAMES = {"kid": "KID", "fid": "FID", "precision": "precision", "recall": "recall", "coverage": "coverage",
         "density": "density", "recon_mse": "reconstruction MSE", "probe_accuracy": "linear-probe accuracy"}
"""How tables and axes name each metric."""

DIVERSITY = ("coverage", "recall")
"""The diversity outcomes, in order of preference (:func:`diversity_metric`)."""

NOT_REACHED = "not reached"
"""The time-to-target cell of a seed (or of every seed of an optimizer) that never reached the target."""


def diversity_metric(logged: set[str]) -> str:
    """The outcome that measures diversity where a figure or table has room for one: coverage
    (Naeem et al. 2020) where the runs logged it, else recall. Recall is a hard k-nearest-
    neighbour threshold that samples only a little less spread out than the real images
    already fail (0 for every run of the CPU study); coverage, the fraction of real images
    with a sample among their k nearest neighbours, grades a generator that covers part of the
    data."""
    return next((metric for metric in DIVERSITY if metric in logged), DIVERSITY[-1])


def metric_label(metric: str) -> str:
    """A metric as tables and axis labels read: ``KID (validation)``, ``recall (test)``."""
    where = "validation" if metric.endswith("_valid") else "test"
    return f"{NAMES.get(base_metric(metric), metric)} ({where})"


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
    logged = logged_metrics(cell_runs(cells))
    outcomes = [rule.select_by, *(metric for metric in OUTCOMES if metric in logged)]
    columns = _columns(outcomes)
    target, start, top = target_for([run for seeds in chosen.values() for run in seeds], rule.select_by)
    rows, times = [], []
    for entry, by_scale in cells.items():
        runs = chosen.get(entry, [])
        row = {"optimizer": entry, "selected_scale": selected.get(entry) if selected.get(entry) is not None
               else math.nan, "seeds": len(runs)}
        row |= _outcome_cells(runs, outcomes, columns, rule)
        seed_times = [_time_to_target(run, entry, selected[entry], rule, target) for run in runs]
        row |= _failure_and_cost_cells([run for seeds in by_scale.values() for run in seeds], runs, seed_times, target)
        times += seed_times
        rows.append(row)
    compared = compared_metric(rule.select_by, logged)
    finals = {entry: [final_value(run, compared, rule.select_last) for run in runs] for entry, runs in chosen.items()}
    return SweepSummary(rule, rows, columns, compare_pairs(finals), target, start, top, outcomes, times, compared)


def _columns(outcomes: Sequence[str]) -> dict[str, str]:
    """The summary's columns (key: CSV name, value: Markdown header), outcome by outcome."""
    columns = {"optimizer": "optimizer", "selected_scale": "selected scale", "seeds": "seeds"}
    for metric in outcomes:
        columns |= {metric: metric_label(metric), f"{metric}_low": "95% low", f"{metric}_high": "95% high",
                    f"{metric}_untrained": "untrained"}
        if base_metric(metric) in FLOORS:
            columns[f"{metric}_floor"] = "real vs real"
        if base_metric(metric) == "recon_mse":
            columns[f"{metric}_mean_image"] = "mean image"
    return columns | {"diverged_all": "diverged (all scales)", "diverged_fraction": "diverged fraction",
                      "flops_to_target": "FLOPs to target", "cpu_s_to_target": "CPU s to target",
                      "reached_target": "seeds at target", "flops": "FLOPs (end)", "grad_evals": "grad evals (end)"}


def _outcome_cells(runs: Sequence[Run], outcomes: Sequence[str], columns: dict[str, str], rule: Rule) -> dict:
    """Each outcome's mean over ``runs`` of the final value, its interval and its references."""
    row = {}
    for metric in outcomes:
        interval = mean_interval([final_value(run, metric, rule.select_last) for run in runs])
        refs = references(runs, metric)
        row |= {metric: interval.mean, f"{metric}_low": interval.low, f"{metric}_high": interval.high,
                f"{metric}_untrained": refs["untrained"]}
        if f"{metric}_floor" in columns:
            row[f"{metric}_floor"] = refs["floor"]
        if f"{metric}_mean_image" in columns:
            row[f"{metric}_mean_image"] = refs["mean_image"]
    return row


def _time_to_target(run: Run, entry: str, scale: float, rule: Rule, target: float) -> dict:
    """A selected run's row of ``time_to_target.csv``: the first evaluation step at or past the
    target on ``select_by``, and the FLOPs and CPU seconds at it (:data:`NOT_REACHED` if never)."""
    step = step_reaching(run, rule.select_by, target, rule.lower_is_better) if math.isfinite(target) else None
    reached = step is not None
    flops, cpu = (float(run.clock_at(np.array([step]), clock)[0]) for clock in ("flops", "cpu_time")) \
        if reached else (NOT_REACHED, NOT_REACHED)
    return {"optimizer": entry, "scale": scale, "seed": run.seed, "folder": str(run.folder),
            "step": step if reached else NOT_REACHED, "flops": flops, "cpu_s": cpu}


def _failure_and_cost_cells(everything: Sequence[Run], runs: Sequence[Run], times: Sequence[dict],
                            target: float) -> dict:
    """Divergences over every scale (``everything``); at the selected scale (``runs``): the mean
    cost to the target over the seeds that reached it, and the cost at the end."""
    hits = [time for time in times if time["step"] != NOT_REACHED]
    row = {"diverged_all": f"{sum(map(diverged, everything))}/{len(everything)}",
           "diverged_fraction": float(np.mean([diverged(run) for run in everything])) if everything else math.nan,
           "flops_to_target": finite_mean(time["flops"] for time in hits) if hits else NOT_REACHED,
           "cpu_s_to_target": finite_mean(time["cpu_s"] for time in hits) if hits else NOT_REACHED,
           "reached_target": f"{len(hits)}/{len(runs)}",
           "flops": finite_mean(run.last_value("flops") for run in runs),
           "grad_evals": finite_mean(run.last_value("grad_evals") for run in runs)}
    if not runs or not math.isfinite(target):
        row["flops_to_target"] = row["cpu_s_to_target"] = row["reached_target"] = math.nan
    return row


def compared_metric(select_by: str, logged: set[str]) -> str:
    """What the pairs of optimizers are compared on: the held-out test images' counterpart of
    ``select_by`` (``kid`` for ``kid_valid``), when the runs logged it. The validation values
    chose each optimizer's scale, so comparing on them would carry the selection's optimism
    (the winner's curse) into the test; the test images chose nothing."""
    counterpart = base_metric(select_by)
    return counterpart if counterpart in logged else select_by


def write_sweep_summary(cells: Cells, selected: dict[str, float | None], out: Path,
                        rule: Rule | None = None) -> list[Path]:
    """Write ``summary.md``, ``summary.csv``, ``pairwise.csv`` and ``time_to_target.csv`` into
    ``out``; return their paths."""
    summary = sweep_summary(cells, selected, rule)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "summary.md", out / "summary.csv", out / "pairwise.csv", out / "time_to_target.csv"]
    paths[0].write_text(_markdown(summary))
    write_csv(paths[1], list(summary.columns), summary.rows)
    compared = summary.compared
    pairs = [{"optimizer_a": pair.a, "optimizer_b": pair.b, "seeds_a": pair.n_a, "seeds_b": pair.n_b,
              f"{compared}_a": pair.mean_a, f"{compared}_b": pair.mean_b,
              "p": pair.p, "p_holm": pair.p_holm, "min_achievable_p": pair.min_p, "verdict": pair.verdict}
             for pair in summary.comparisons]
    write_csv(paths[2], ["optimizer_a", "optimizer_b", "seeds_a", "seeds_b", f"{compared}_a", f"{compared}_b", "p",
                         "p_holm", "min_achievable_p", "verdict"], pairs)
    write_csv(paths[3], ["optimizer", "scale", "seed", "folder", "step", "flops", "cpu_s"], summary.times)
    return paths


def _with_interval(row: dict, metric: str) -> str:
    if is_nan(row[metric]):
        return "—"
    text = format_number(row[metric])
    if row[f"{metric}_low"] != row[f"{metric}_high"]:
        text += f" [{format_number(row[f'{metric}_low'], 3)}, {format_number(row[f'{metric}_high'], 3)}]"
    return text


def _markdown(summary: SweepSummary) -> str:
    """``summary.md``: the selection rule, then the selected scales, the outcomes and the pairs."""
    lines = ["# Step-size sweep", "", _rule_paragraph(summary.rule), "", "## Selected scales", ""]
    lines += _selected_scales_section(summary)
    lines += ["", "## Outcomes at the selected scale", ""]
    lines += _outcomes_section(summary)
    lines += ["", f"## Pairs of optimizers on {metric_label(summary.compared)} (test images; the selection read "
                  f"{metric_label(summary.rule.select_by)})", ""]
    lines += _pairs_section(summary)
    return "\n".join(lines) + "\n"


def _rule_paragraph(rule: Rule) -> str:
    direction = "lower" if rule.lower_is_better else "higher"
    return (f"Selected scale: per optimizer, the step-size scale with the best ({direction}) mean over seeds of "
            f"{rule.describe()}, on the validation images (training images set aside, never trained "
            "on). A scale where any seed diverged or did not complete is not eligible; ties go to the smaller "
            "scale. Test-image outcomes are reported at the selected scale only; they select nothing.")


def _selected_scales_section(summary: SweepSummary) -> list[str]:
    rule, rows = summary.rule, summary.rows
    by = rule.select_by
    reference = "floor" if base_metric(by) in FLOORS else "mean_image" if base_metric(by) == "recon_mse" else None
    lines = markdown_table(
        ["optimizer", "selected scale", "seeds", "diverged (all scales)", f"{metric_label(by)}, final", "untrained",
         *({"floor": ["real vs real"], "mean_image": ["mean image"]}.get(reference, [])),
         "FLOPs to target", "CPU s to target", "seeds at target"],
        [[row["optimizer"], format_number(row["selected_scale"]), str(row["seeds"]), row["diverged_all"],
          _with_interval(row, by), format_number(row[f"{by}_untrained"]),
          *([format_number(row[f"{by}_{reference}"])] if reference else []), format_number(row["flops_to_target"], 3),
          format_number(row["cpu_s_to_target"], 3), format_number(row["reached_target"])] for row in rows])
    target = (f"{summary.target:.4g}, halfway from the best baseline ({summary.baseline:.4g}: the untrained model "
              f"at step 0, for an MSE also the mean image) to the best value any selected run reached "
              f"({summary.best:.4g})" if math.isfinite(summary.target) else
              "none: no step-0 baseline was logged, or no selected run got better than it")
    return lines + ["", f"Final: mean of the last {rule.select_last} evaluations after step 0, per seed; then the "
                    f"mean over seeds and its {CONFIDENCE:.0%} percentile bootstrap interval [low, high] (no interval: "
                    f"one seed, or seeds that agree). Target on {by}: {target}. FLOPs and CPU s to target: at the "
                    "first evaluation at or past the target, mean over the seeds that reached it (per seed: "
                    "time_to_target.csv); \"not reached\" when none did. Diverged: training stopped at a non-finite "
                    "loss or gradient."]


def _outcomes_section(summary: SweepSummary) -> list[str]:
    rows = summary.rows
    outcomes = [metric for metric in summary.outcomes if metric != summary.rule.select_by]
    if not outcomes:
        return ["These runs logged no test outcome."]
    lines = markdown_table(["optimizer", *map(metric_label, outcomes)],
                           [[row["optimizer"], *(_with_interval(row, metric) for metric in outcomes)] for row in rows])
    chosen = [row for row in rows if row["seeds"]]
    for label, suffix in (("untrained (step 0)", "untrained"), ("real vs real", "floor"), ("mean image", "mean_image")):
        values = [format_number(finite_mean(row.get(f"{metric}_{suffix}", math.nan) for row in chosen))
                  for metric in outcomes]
        if any(value != "—" for value in values):
            lines.append(f"| *{label}* | " + " | ".join(values) + " |")
    return lines + ["", "Mean over seeds of the final value [95% bootstrap interval]. Untrained: the model at step 0; "
                    "real vs real: training-image features against validation-image features, what a generator "
                    "matching the data would score; mean image: the MSE of the mean training image. Mode collapse "
                    "shows as low coverage (and recall). Means over the selected runs; per optimizer in summary.csv."]


def _pairs_section(summary: SweepSummary) -> list[str]:
    if not summary.comparisons:
        return ["Fewer than two optimizers have a selected scale: nothing to compare."]
    return markdown_table(["optimizer A", "optimizer B", "seeds", "mean A", "mean B", "p", "p (Holm)", "verdict"],
                          [[pair.a, pair.b, f"{pair.n_a} vs {pair.n_b}", format_number(pair.mean_a),
                            format_number(pair.mean_b), format_number(pair.p, 3), format_number(pair.p_holm, 3),
                            pair.verdict] for pair in summary.comparisons]) + ["", _power_note(summary.comparisons)]


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
            + (f"so a pair can be separated at these numbers of seeds where its p is below {ALPHA:g} / {family} "
               "(Holm's first step). That does not need every seed of one optimizer to beat every seed of the other: "
               "with one seed out of order, p can be as low as twice the smallest." if possible else
               f"so at these numbers of seeds no pair can be separated at {ALPHA:g}, whatever the difference; "
               "\"not separated\" here says nothing about whether the optimizers differ. More seeds are needed "
               "(at 8 vs 8, the smallest p is 0.00016)."))

"""The two-stage study's tables, read off a :class:`~ali_opt.records.study_results.StudyReport`:
the rows of ``summary.csv`` (one per entry), ``stability.csv`` (one per entry and stage-one
scale) and ``pairwise.csv`` (one per pair), and the text of ``summary.md``.

What the seeds can tell (the last section of ``summary.md``): the exact paired sign-flip
test at n seeds cannot give a p below 2 / 2^n, and Holm's correction over m pairs asks the
smallest p to be below alpha / m; when 2 / 2^n is not, no pair can separate whatever the
difference. A separation does not need every seed to favour the same entry: with one seed's
difference on the other side, p can be as low as 4 / 2^n (:mod:`ali_opt.records.statistics`).
"""
from __future__ import annotations

import math

from .statistics import ALPHA, CONFIDENCE, MARGIN_FRACTION, POWER, PairComparison
from .step_size_summary import metric_label
from .study_results import StudyReport
from .tables import format_number, markdown_table

PAIR_COLUMNS = ("optimizer_a", "optimizer_b", "seeds_a", "seeds_b", "paired", "mean_a", "mean_b", "difference",
                "difference_low", "difference_high", "p", "p_holm", "min_p", "p_equivalence", "p_equivalence_holm",
                "equivalence_margin", "min_detectable_difference", "verdict")
STABILITY_COLUMNS = ("optimizer", "scale", "seeds", "failure_rate", "loss_oscillation", "grad_norm_growth", "score")


def summary_columns(report: StudyReport) -> list[str]:
    """The columns of ``summary.csv``: the design, the primary with its baselines, the other
    outcomes with their intervals, the metric noise."""
    primary = report.primary
    columns = ["optimizer", "selected_scale", "bracket", "largest_stable_scale", "selection_seeds",
               "confirmation_seeds", "failure_rate", primary, f"{primary}_low", f"{primary}_high",
               f"{primary}_untrained", f"{primary}_floor"]
    for metric in report.outcome_metrics[1:]:
        columns += [metric, f"{metric}_low", f"{metric}_high"]
    return columns + ["metric_noise_sd", "seed_sd", "noise_ratio"]


def summary_rows(report: StudyReport) -> list[dict]:
    """One row of ``summary.csv`` per entry (NaN: not measured)."""
    rows = []
    for entry in report.entries:
        stable = report.largest_stable.get(entry)
        noise = report.noise.get(entry)
        row = {"optimizer": entry, "selected_scale": _or_nan(report.selected.get(entry)),
               "bracket": report.brackets.get(entry, "none"), "largest_stable_scale": str(stable) if stable else "",
               "selection_seeds": report.selection_seeds(entry),
               "confirmation_seeds": len(report.confirmation_runs(entry)),
               "failure_rate": report.failure_rates.get(entry, math.nan),
               f"{report.primary}_untrained": report.baselines[report.primary]["untrained"],
               f"{report.primary}_floor": report.baselines[report.primary]["floor"],
               "metric_noise_sd": noise.metric_noise_sd if noise else math.nan,
               "seed_sd": noise.seed_sd if noise else math.nan, "noise_ratio": noise.ratio if noise else math.nan}
        for metric in report.outcome_metrics:
            interval = report.outcomes.get(entry, {}).get(metric)
            row |= {metric: interval.mean if interval else math.nan, f"{metric}_low": interval.low if interval
                    else math.nan, f"{metric}_high": interval.high if interval else math.nan}
        rows.append(row)
    return rows


def stability_rows(report: StudyReport) -> list[dict]:
    """One row of ``stability.csv`` per entry and stage-one scale: its seeds' stability, and its
    selection score (mean over the seeds of ``select_by``; NaN where it cannot be selected)."""
    return [{"optimizer": entry, "scale": scale, "seeds": stability.seeds, "failure_rate": stability.failure_rate,
             "loss_oscillation": stability.loss_oscillation, "grad_norm_growth": stability.grad_norm_growth,
             "score": report.scores[entry].get(scale, math.nan)}
            for entry, by_scale in report.stability.items() for scale, stability in by_scale.items()]


def pair_rows(report: StudyReport) -> list[dict]:
    """One row of ``pairwise.csv`` per pair of entries."""
    return [{"optimizer_a": pair.a, "optimizer_b": pair.b, "seeds_a": pair.n_a, "seeds_b": pair.n_b,
             "paired": pair.paired, "mean_a": pair.mean_a, "mean_b": pair.mean_b, "difference": pair.difference,
             "difference_low": pair.difference_low, "difference_high": pair.difference_high, "p": pair.p,
             "p_holm": pair.p_holm, "min_p": pair.min_p, "p_equivalence": pair.p_equivalence,
             "p_equivalence_holm": pair.p_equivalence_holm,
             "equivalence_margin": pair.margin, "min_detectable_difference": pair.min_detectable_difference,
             "verdict": pair.verdict} for pair in report.comparisons]


def study_markdown(report: StudyReport) -> str:
    """``summary.md``: the design and rule, the stability half, the outcomes, the pairs, what
    the seeds can tell, and the metric's own noise."""
    lines = ["# Two-stage step-size study", "", _design_paragraph(report), "",
             "## Stability and step sizes (stage one)", "", *_stage_one_section(report), "",
             f"## Outcomes at the selected scale (stage two, fresh seeds)", "", *_outcomes_section(report), "",
             f"## Pairs of optimizers on {metric_label(report.primary)}", "", *_pairs_section(report), "",
             "## What the seeds can and cannot tell", "", _seeds_paragraph(report), "",
             "## The metric's own noise against the spread over seeds", "", *_noise_section(report)]
    return "\n".join(lines) + "\n"


def _design_paragraph(report: StudyReport) -> str:
    rule = report.rule
    direction = "lower" if rule.lower_is_better else "higher"
    seeds = sorted({len(report.confirmation_runs(entry)) for entry in report.entries} - {0})
    return (f"Stage one trained every optimizer at every scale of its grid on a few seeds (selection seeds), "
            f"evaluated at step 0 and at the end of the budget, and selected per optimizer the scale with the best "
            f"({direction}) mean over seeds of {rule.describe()}, on the validation images; a scale where a seed "
            f"diverged or did not complete is not eligible, ties go to the smaller scale. Stage two trained each "
            f"optimizer at its selected scale on {_join(seeds)} fresh seeds, the same seeds for every optimizer "
            f"(seed i of each starts from the same networks: the comparisons are paired). Only stage two gives the "
            f"outcomes and the verdicts, so the selection's optimism (the winner's curse) does not pass into them. "
            f"Primary outcome: {metric_label(report.primary)} at the last evaluation (the end of the budget), as "
            f"measured, not averaged with earlier evaluations.")


def _stage_one_section(report: StudyReport) -> list[str]:
    rows = []
    for entry in report.entries:
        stability = report.stability.get(entry, {})
        failures = ", ".join(f"{scale:g}: {_fraction(item.failure_rate, item.seeds)}" for scale, item in
                             stability.items())
        stable = report.largest_stable.get(entry)
        rows.append([entry, ", ".join(f"{scale:g}" for scale in report.grids.get(entry, ())),
                     format_number(report.selected.get(entry)), report.brackets.get(entry, "none"),
                     str(stable) if stable else "—", failures or "—"])
    lines = markdown_table(["optimizer", "scales tried", "selected", "bracket", "largest stable scale",
                            "seeds failed per scale"], rows)
    lines += ["", *markdown_table(["optimizer", "scale", "seeds", "failure rate", "loss oscillation",
                                   "grad-norm growth", f"{report.rule.select_by} (selection score)"],
                                  [[row["optimizer"], format_number(row["scale"]), str(row["seeds"]),
                                    format_number(row["failure_rate"], 3), format_number(row["loss_oscillation"], 3),
                                    format_number(row["grad_norm_growth"], 3), format_number(row["score"])]
                                   for row in stability_rows(report)])]
    return lines + ["", "Bracket: where the best scale lies among the tried ones after the extensions (interior: a "
                    "tried scale on each side; an edge: the optimum may lie beyond). A seed failed when it diverged "
                    "(a non-finite loss or gradient) or degraded: its final primary outcome worse than the untrained "
                    "model (stage one evaluates only at the end) or, with several evaluations, worse than its own "
                    f"best by more than the metric's noise (allowed here: {format_number(report.stability_noise, 3)}). "
                    "Largest stable scale: the largest at which no seed failed, with the next tried scale up failing "
                    "(≥: no tried scale failed above it; <: the smallest tried failed). Loss oscillation: the "
                    "standard deviation of loss_g - loss_d over the second half of the budget; grad-norm growth: "
                    "the largest gradient norm of the second half over that of the first; means over the seeds."]


def _outcomes_section(report: StudyReport) -> list[str]:
    metrics = report.outcome_metrics
    rows = [[entry, format_number(report.selected.get(entry)), str(len(report.confirmation_runs(entry))),
             format_number(report.failure_rates.get(entry), 3),
             *(_with_interval(report.outcomes.get(entry, {}).get(metric)) for metric in metrics)]
            for entry in report.entries]
    lines = markdown_table(["optimizer", "scale", "seeds", "failure rate", *map(metric_label, metrics)], rows)
    for label, key in (("untrained (step 0)", "untrained"), ("real vs real", "floor"), ("mean image", "mean_image")):
        values = [format_number(report.baselines[metric][key]) for metric in metrics]
        if any(value != "—" for value in values):
            lines.append(f"| *{label}* | | | | " + " | ".join(values) + " |")
    return lines + ["", f"Mean over seeds of the last evaluation [{CONFIDENCE:.0%} t interval]. A seed that diverged "
                    "or did not complete has no value at the end of the budget: it is left out of the mean and "
                    "counted in the failure rate. Untrained: the model at step 0; real vs real: what a generator "
                    "matching the data would score (Inception measures: training-image features against "
                    "validation-image features; digit measures: training images against the test images; "
                    "recon_class_accuracy: the classifier's own accuracy on the test images). "
                    "Coverage grades diversity (low: mode collapse); density has no better direction (about 1 for a "
                    "generator matching the data, above 1 where samples crowd)."]


def _pairs_section(report: StudyReport) -> list[str]:
    if not report.comparisons:
        return ["Fewer than two optimizers have stage-two runs: nothing to compare."]
    rows = [[pair.a, pair.b, _seeds(pair), "yes" if pair.paired else "no",
             f"{format_number(pair.difference, 3)} [{format_number(pair.difference_low, 3)}, "
             f"{format_number(pair.difference_high, 3)}]", format_number(pair.p, 3), format_number(pair.p_holm, 3),
             format_number(pair.p_equivalence_holm, 3), format_number(pair.min_detectable_difference, 3),
             pair.verdict] for pair in report.comparisons]
    lines = markdown_table(["optimizer A", "optimizer B", "seeds", "paired", f"difference A - B [{CONFIDENCE:.0%}]",
                            "p", "p (Holm)", "p equivalence (Holm)", "detectable difference", "verdict"], rows)
    return lines + ["", f"Difference of the means of {metric_label(report.primary)} (A - B) and its {CONFIDENCE:.0%} "
                    "t interval (paired: on the per-seed differences; else Welch's). p: the exact permutation test "
                    "(paired: sign flips of the per-seed differences), Holm-adjusted over the pairs. Equivalence: two "
                    f"one-sided tests against the margin ±{format_number(report.margin, 3)} "
                    f"{_margin_source(report)}, Holm-adjusted. Detectable difference: the smallest true difference "
                    f"the t test detects with {POWER:.0%} power at Holm's first level at this spread. Verdict: A or "
                    f"B better when p (Holm) < {ALPHA:g}; else equivalent when p equivalence (Holm) < {ALPHA:g}; else "
                    "inconclusive."]


def _seeds_paragraph(report: StudyReport) -> str:
    pairs = report.comparisons
    if not pairs:
        return "Fewer than two optimizers have stage-two runs: there is nothing to tell apart."
    level = ALPHA / len(pairs)
    sentences = [f"With {len(pairs)} pair{'s' if len(pairs) != 1 else ''}, Holm's correction asks the smallest p to "
                 f"be below {ALPHA:g} / {len(pairs)} = {level:.3g} before any pair separates."]
    for paired, n_a, n_b, min_p in sorted({(pair.paired, pair.n_a, pair.n_b, pair.min_p) for pair in pairs}):
        test = (f"the exact paired test at {n_a} seeds cannot give a p below 2 / 2^{n_a} = {min_p:.3g}" if paired else
                f"the exact unpaired test at {n_a} vs {n_b} seeds cannot give a p below 2 / C({n_a + n_b}, {n_a}) = "
                f"{min_p:.3g}")
        if min_p < level:
            sentences.append(f"{test[0].upper()}{test[1:]}, below that level: a pair can separate. It need not have "
                             "every seed favour the same optimizer" + (f": with one seed's difference on the other "
                                                                       f"side, p can be as low as 4 / 2^{n_a} = "
                                                                       f"{4 / 2 ** n_a:.3g}." if paired else "."))
        else:
            sentences.append(f"{test[0].upper()}{test[1:]}, not below that level: no pair can separate at these seeds "
                             "whatever the difference, and an inconclusive verdict says nothing about whether the "
                             f"optimizers differ (the paired test reaches it from {_seeds_needed(level)} seeds).")
    sentences += [_inconclusive(pair) for pair in pairs if pair.verdict.startswith("inconclusive")]
    return " ".join(sentences)


def _inconclusive(pair: PairComparison) -> str:
    """What an inconclusive pair leaves open: the difference it would have detected."""
    if math.isinf(pair.min_detectable_difference):
        return (f"{pair.a} vs {pair.b} is inconclusive, and no difference, however large, could have separated it "
                "at these seeds.")
    return (f"{pair.a} vs {pair.b} is inconclusive: a true difference smaller than "
            f"{format_number(pair.min_detectable_difference, 3)} would go undetected more often than "
            f"{1 - POWER:.0%} of the time at these seeds; the interval "
            f"[{format_number(pair.difference_low, 3)}, {format_number(pair.difference_high, 3)}] bounds it.")


def _noise_section(report: StudyReport) -> list[str]:
    if not report.noise:
        return ["No noise draws were measured: the seed spread mixes the networks' differences with the metric's own "
                "noise."]
    rows = [[entry, format_number(noise.metric_noise_sd, 3), format_number(noise.seed_sd, 3),
             format_number(noise.ratio, 3)] for entry, noise in report.noise.items()]
    return markdown_table(["optimizer", "metric-noise sd", "seed sd", "ratio"], rows) + [
        "", f"Metric-noise sd: each stage-two seed's final checkpoint evaluated on {metric_label(report.primary)} "
            "under several sets of prior draws; the standard deviations within seeds pooled (square root of the mean "
            "variance). Seed sd: the standard deviation over seeds of the logged value. A ratio near 1: most of the "
            "seed spread is the metric's own noise; near 0: the trained networks differ."]


def _margin_source(report: StudyReport) -> str:
    return "(given)" if report.margin_given else \
        f"({MARGIN_FRACTION:.0%} of the range from the untrained value to the real-vs-real floor)"


def _seeds_needed(level: float) -> int:
    return next(n for n in range(1, 64) if 2 / 2 ** n < level)


def _with_interval(interval) -> str:
    if interval is None or math.isnan(interval.mean):
        return "—"
    if math.isnan(interval.low) or interval.low == interval.high:
        return format_number(interval.mean)
    return f"{format_number(interval.mean)} [{format_number(interval.low, 3)}, {format_number(interval.high, 3)}]"


def _seeds(pair: PairComparison) -> str:
    return str(pair.n_a) if pair.n_a == pair.n_b else f"{pair.n_a} vs {pair.n_b}"


def _fraction(rate: float, seeds: int) -> str:
    return "—" if math.isnan(rate) else f"{round(rate * seeds)}/{seeds}"


def _join(values) -> str:
    return " or ".join(str(value) for value in values) or "no"


def _or_nan(value) -> float:
    return math.nan if value is None else value

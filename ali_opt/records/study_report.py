"""The two-stage study's report (:mod:`ali_opt.sweeps.stages`), from its runs: stability and
step sizes from stage one, outcomes and verdicts from stage two alone.

**Stage one (selection).** Every entry ran every scale of its grid (extensions included) on
a few seeds, evaluated at step 0 and at the end of the budget only. Per scale: each seed's
score on ``select_by`` (:func:`~ali_opt.records.selection.run_score`), their mean where the
scale can be selected (:func:`~ali_opt.records.selection.eligible`), and the seeds'
stability on the primary outcome (:func:`~ali_opt.records.stability.stability_by_scale`:
failure rate, mean loss oscillation, mean gradient-norm growth). Per entry: where the best
scale lies among the tried ones (:func:`~ali_opt.records.bracketing.bracket_position` on the
selection scores: ``interior``, ``lower edge``, ``upper edge``, ...) and its largest stable
scale. As stage one's only trained evaluation is the final one, *degraded* there means worse
than the untrained model.

**Stage two (confirmation).** Every entry at its selected scale, on fresh seeds shared by
every entry. Each outcome (the ``primary`` first, then :data:`OTHER_OUTCOMES` where logged)
is read at its **last evaluation, as measured**, not averaged with earlier ones; per entry,
the mean over seeds and its t interval (:func:`~ali_opt.records.statistics.mean_t_interval`).
A seed that diverged or did not complete has no value at the end of the budget: it is
missing from the means and the pairs, and counted in the entry's failure rate (diverged or
degraded, :mod:`ali_opt.records.stability`). Baselines: the untrained value, the real-vs-real
floor and, for MSE, the mean image, averaged over stage two's runs
(:func:`~ali_opt.records.selection.references`).

**Pairs.** :func:`~ali_opt.records.statistics.compare_pairs_fully` on each entry's
``{seed: primary}``: paired where two entries ran the same seeds, Holm's correction over
the pairs, equivalence tested against ``equivalence_margin``: given, else
:func:`~ali_opt.records.statistics.equivalence_margin` of the primary's untrained value and
floor, 10% of ``|untrained - floor|``.

**Metric noise.** ``noise_draws[entry][i]`` holds seed i's primary at its final checkpoint
under several sets of prior draws, the logged value first
(:func:`ali_opt.sweeps.metric_noise.noise_table`). With v_i the sample variance (ddof 1) of
seed i's draws, ``metric_noise_sd = sqrt(mean_i v_i)`` (the pooled within-seed standard
deviation; seeds with fewer than 2 draws left out), and ``seed_sd`` is the standard
deviation (ddof 1) over seeds of the logged last value. The noise that *degraded* allows
(final worse than the run's best by more than the noise) is twice the pooled metric-noise sd
over every entry's seeds when noise draws exist, else 0.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .bracketing import bracket_position
from .runs import Run
from .seed_curves import seed_curves
from .selection import (DIRECTIONS, Cells, Rule, base_metric, cell_runs, diverged, eligible, evaluations,
                        logged_metrics, lower_is_better, references, run_score, selection_score,
                        shared_compute_clock)
from .stability import failure_rate, run_stability, stability_by_scale
from .statistics import compare_pairs_fully, equivalence_margin as default_margin, finite_values, mean_t_interval
from .study_tables import (PAIR_COLUMNS, STABILITY_COLUMNS, pair_rows, stability_rows, study_markdown,
                           summary_columns, summary_rows)
from .study_results import CurveBand, MetricNoise, StudyReport
from .tables import write_csv

OTHER_OUTCOMES = ("fid", "coverage", "precision", "recall", "density", "recon_mse", "probe_accuracy",
                  "class_fid", "class_kid", "modes", "class_kl", "recon_class_accuracy")
"""The outcomes reported beside the primary (test images), where the runs logged them."""

LOSSES = ("loss_d", "loss_g", "loss_gap")
"""The losses drawn for stage two's runs: discriminator, generator, and their gap."""

NOISE_FACTOR = 2.0
"""*Degraded* allows the final value to be this many metric-noise standard deviations worse
than the run's best."""


def study_report(selection: Cells, grids: Mapping[str, Sequence[float]], selected: Mapping[str, float | None],
                 confirmation: Cells, rule: Rule, primary: str, equivalence_margin: float | None = None,
                 noise_draws: Mapping[str, Sequence[Sequence[float]]] | None = None) -> StudyReport:
    """The report of a two-stage study (module docstring). ``selection`` and ``confirmation``
    are the stages' runs by entry and scale (:func:`~ali_opt.records.selection.sweep_runs` with
    ``stage``), ``grids`` each entry's tried scales, ``selected`` its selected scale. Raises
    :class:`ConfigError` for a ``primary`` without a direction or not logged by stage two."""
    selected = dict(selected)
    chosen = {entry: list(confirmation.get(entry, {}).get(scale, [])) for entry, scale in selected.items()
              if scale is not None and confirmation.get(entry, {}).get(scale)}
    _check_primary(primary, [run for runs in chosen.values() for run in runs])
    noise = {entry: metric_noise(draws, [last_evaluation(run, primary) for run in chosen.get(entry, [])])
             for entry, draws in (noise_draws or {}).items()}
    stability_noise = degraded_noise(noise_draws or {})
    stage_one = _stage_one(selection, grids, rule, primary, stability_noise)
    runs = [run for seeds in chosen.values() for run in seeds]
    metrics = (primary, *(metric for metric in OTHER_OUTCOMES if metric != primary and metric in logged_metrics(runs)))
    baselines = {metric: references(runs, metric) for metric in metrics}
    margin = equivalence_margin if equivalence_margin is not None else \
        default_margin(baselines[primary]["untrained"], baselines[primary]["floor"])
    finals = {entry: {run.seed: last_evaluation(run, primary) for run in seeds} for entry, seeds in chosen.items()}
    comparisons = compare_pairs_fully(finals, None if math.isnan(margin) else margin, lower_is_better(primary)) \
        if len(finals) > 1 else []
    clock = shared_compute_clock(runs)
    return StudyReport(
        rule=rule, primary=primary, selection=selection, grids={entry: tuple(map(float, grid)) for entry, grid in
                                                                grids.items()},
        selected=selected, **stage_one, confirmation=confirmation, outcome_metrics=metrics,
        outcomes={entry: {metric: mean_t_interval([last_evaluation(run, metric) for run in seeds])
                          for metric in metrics} for entry, seeds in chosen.items()},
        failure_rates={entry: failure_rate([run_stability(run, primary, stability_noise).failed for run in seeds])
                       for entry, seeds in chosen.items()},
        baselines=baselines, margin=margin, margin_given=equivalence_margin is not None,
        comparisons=tuple(comparisons), noise=noise,
        stability_noise=stability_noise, clock=clock,
        curves={entry: {metric: curve_band(seeds, metric, clock) for metric in (*LOSSES, *metrics)}
                for entry, seeds in chosen.items()})


def write_study_report(report: StudyReport, out: Path) -> list[Path]:
    """Write ``summary.md``, ``summary.csv`` (one row per entry), ``stability.csv`` (one row per
    entry and stage-one scale) and ``pairwise.csv`` (one row per pair) into ``out``
    (:mod:`ali_opt.records.study_tables`); return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "summary.md", out / "summary.csv", out / "stability.csv", out / "pairwise.csv"]
    paths[0].write_text(study_markdown(report))
    write_csv(paths[1], summary_columns(report), summary_rows(report))
    write_csv(paths[2], STABILITY_COLUMNS, stability_rows(report))
    write_csv(paths[3], PAIR_COLUMNS, pair_rows(report))
    return paths


def _check_primary(primary: str, runs: Sequence[Run]) -> None:
    if base_metric(primary) not in DIRECTIONS or primary != base_metric(primary):
        raise ConfigError(f"primary={primary!r} is not valid; give a test outcome with a direction: "
                          f"{', '.join(sorted(DIRECTIONS))}")
    if runs and primary not in logged_metrics(runs):
        logged = sorted(logged_metrics(runs) & set(DIRECTIONS))
        raise ConfigError(f"primary={primary!r} is not logged by the runs of stage two; they log: "
                          f"{', '.join(logged) or 'no outcome with a direction'}")


def _stage_one(selection: Cells, grids: Mapping[str, Sequence[float]], rule: Rule, primary: str,
               noise: float) -> dict:
    """The stage-one fields of the :class:`StudyReport` (module docstring)."""
    fields = dict(seed_scores={}, scores={}, stability={}, brackets={}, largest_stable={})
    for entry in dict.fromkeys([*grids, *selection]):
        by_scale = selection.get(entry, {})
        tried = sorted({*map(float, grids.get(entry, ())), *by_scale})
        signed = {scale: selection_score(by_scale.get(scale, []), rule) for scale in tried}
        fields["brackets"][entry] = bracket_position(signed)[1]
        fields["seed_scores"][entry] = {scale: tuple(math.nan if diverged(run) else run_score(run, rule)
                                                     for run in runs) for scale, runs in by_scale.items()}
        fields["scores"][entry] = {scale: float(np.mean([run_score(run, rule) for run in by_scale[scale]]))
                                   if eligible(by_scale.get(scale, []), rule) else math.nan for scale in tried}
        if by_scale:
            fields["stability"][entry], fields["largest_stable"][entry] = stability_by_scale(by_scale, primary, noise)
        else:
            fields["stability"][entry], fields["largest_stable"][entry] = {}, None
    fields["selection_baselines"] = references(cell_runs(selection), rule.select_by)
    return fields


def last_evaluation(run: Run, metric: str) -> float:
    """``metric`` at the run's last evaluation after step 0, as measured; NaN for a run that
    diverged or did not complete (it has no value at the end of the budget) or never logged it."""
    if diverged(run) or run.status != "COMPLETED":
        return math.nan
    values = evaluations(run, metric)[1]
    return float(values[-1]) if len(values) else math.nan


def pooled_sd(draws: Sequence[Sequence[float]]) -> float:
    """sqrt of the mean over seeds of each seed's sample variance (ddof 1) of its finite draws;
    seeds with fewer than 2 left out; NaN when none has 2."""
    variances = [np.var(finite, ddof=1) for finite in (finite_values(values) for values in draws) if len(finite) >= 2]
    return float(math.sqrt(np.mean(variances))) if variances else math.nan


def metric_noise(draws: Sequence[Sequence[float]], logged: Sequence[float]) -> MetricNoise:
    """The :class:`MetricNoise` of one entry: :func:`pooled_sd` of ``draws`` (per seed, its
    values under several prior draws) beside the sd over seeds of the ``logged`` values."""
    finite = finite_values(logged)
    return MetricNoise(pooled_sd(draws), float(np.std(finite, ddof=1)) if len(finite) >= 2 else math.nan)


def degraded_noise(noise_draws: Mapping[str, Sequence[Sequence[float]]]) -> float:
    """:data:`NOISE_FACTOR` times the pooled metric-noise sd over every entry's seeds; 0 without
    noise draws (or without a seed of 2 finite draws)."""
    pooled = pooled_sd([values for draws in noise_draws.values() for values in draws])
    return NOISE_FACTOR * pooled if math.isfinite(pooled) else 0.0


def curve_band(runs: Sequence[Run], metric: str, clock: str | None) -> CurveBand:
    """``metric`` of ``runs`` against ``clock``: each seed's curve, and the mean over seeds with
    its t interval at the steps every seed logged."""
    curves = seed_curves(runs, metric, clock)
    intervals = [mean_t_interval(column) for column in curves.values.T]
    mean, low, high = (np.array([getattr(interval, name) for interval in intervals], dtype=float)
                       for name in ("mean", "low", "high"))
    return CurveBand(curves.seeds, tuple(map(diverged, runs)), curves.x, mean, low, high)

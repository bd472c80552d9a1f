"""Reading a step-size sweep back from its runs, and the selection rule of the main study.

A sweep run records ``sweep.entry`` (the comparison entry's label) and ``sweep.lr_scale``
in its config (see :mod:`ali_opt.sweeps.grid`). This module groups runs into cells
(entry, scale) and selects one scale per entry.

**Evaluations.** A run evaluates at fixed fractions of its compute budget, step 0 (the
untrained model) included. The *untrained* value of a metric is its value at step 0. The
*final* value (:func:`final_value`) is the mean of the last ``select_last`` evaluations
after step 0 (all of them when there are fewer; the step-0 value only when nothing else was
logged): one evaluation is noisy, and GAN training swings.

**Selection rule.** For each entry, the selected scale is the one with the best mean over
seeds of each seed's score on ``select_by``, a metric on the validation images (training
images set aside, never trained on). The score is the final value (``select_rule="last"``)
or the area under the metric's curve against FLOPs (``"auc"``, divided by the FLOPs
spanned: the metric's mean over the compute, which rewards getting there early; gradient
evaluations, then steps, stand in for runs that did not log FLOPs). Lower is better for
fid, kid and MSE, higher for precision, recall, coverage and probe accuracy (:data:`DIRECTIONS`). A
scale is not eligible when any of its seeds diverged, did not complete, or has no score.
Ties go to the smaller scale. Test metrics (``kid``, ``recon_mse``, ``probe_accuracy``, ...)
are never read to select: they are reported at the selected scale only.

``select_by``, ``select_last`` and ``select_rule`` come from the arguments, else from the
runs' configs, else the defaults: ``kid_valid`` (``recon_mse_valid`` for runs that logged no
``kid_valid`` and name no ``select_by``: runs without sample quality), 3 and
``"last"``.

**Outcomes of a run.** *Diverged*: training stopped at a non-finite loss or gradient
(``diverged_at``); its curves stop before that step. Mode collapse shows as low coverage.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, check_choice, check_positive
from .runs import Curve, Run
from .tables import finite_mean

Cells = dict[str, dict[float, list[Run]]]

DIRECTIONS = {
    "fid": "lower", "kid": "lower", "recon_mse": "lower", "recon_mse_mean_image": "lower",
    "precision": "higher", "recall": "higher", "coverage": "higher", "probe_accuracy": "higher",
    "class_fid": "lower", "class_kid": "lower", "class_kl": "lower", "modes": "higher", "recon_class_accuracy": "higher",
}
"""Which way is better, per metric; ``_valid`` and ``_floor`` variants go the same way.
``density`` has no direction (Naeem et al. 2020: about 1 for a generator matching the data,
above 1 where samples crowd into dense regions of the real data), so it is reported, never
selected on."""

FLOORS = {"fid": "fid_floor", "kid": "kid_floor", "precision": "precision_floor", "recall": "recall_floor",
          "coverage": "coverage_floor", "density": "density_floor",
          "class_fid": "class_fid_floor", "class_kid": "class_kid_floor", "modes": "modes_floor",
          "class_kl": "class_kl_floor", "recon_class_accuracy": "classifier_accuracy"}
"""The real-vs-real value of a sample-quality metric (training-image features against
validation-image features): what a generator matching the data would score, up to sampling.
The digit-level measures' floors are training images measured as samples; that of
``recon_class_accuracy`` is the classifier's accuracy on the real images (what a perfect
reconstruction scores)."""

MEAN_IMAGE = "recon_mse_mean_image"
"""The MSE of reconstructing every test image by the mean training image: a baseline an
encoder-decoder has to beat."""

DEFAULT_SELECT_BY = "kid_valid"
"""What scales are selected on when neither the arguments nor the runs' configs name ``select_by``."""

FALLBACK_SELECT_BY = "recon_mse_valid"
"""What scales are selected on, by default, among runs that logged no :data:`DEFAULT_SELECT_BY`
(runs without sample quality): the validation reconstruction error, which every run with a
validation split logs."""

DEFAULT_SELECT_LAST = 3
SELECT_RULES = ("last", "auc")
COMPUTE_CLOCKS = ("flops", "grad_evals")
"""The cost axis, in order of preference: measured FLOPs, else gradient evaluations."""


@dataclass(frozen=True)
class Rule:
    """How scales are selected: on ``select_by``, by ``select_rule``, the final value being
    the mean of the last ``select_last`` evaluations."""

    select_by: str = DEFAULT_SELECT_BY
    select_last: int = DEFAULT_SELECT_LAST
    select_rule: str = "last"

    @property
    def lower_is_better(self) -> bool:
        return lower_is_better(self.select_by)

    def describe(self) -> str:
        if self.select_rule == "auc":
            return f"{self.select_by}, area under its curve against FLOPs"
        if self.select_last == 1:
            return f"{self.select_by}, the last evaluation"
        return f"{self.select_by}, mean of the last {self.select_last} evaluations after step 0"


def sweep_runs(runs: Sequence[Run], stage: str | None = None) -> Cells:
    """Runs of a sweep by entry label, then by scale (entries in first-seen order, scales
    sorted); runs without a ``sweep.entry`` are left out, and, with a ``stage``
    (``selection`` or ``confirmation``, :mod:`ali_opt.sweeps.stages`), runs of other stages."""
    cells: dict[str, dict[float, list[Run]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        sweep = run.config.get("sweep") or {}
        if sweep.get("entry") and (stage is None or sweep.get("stage", "") == stage):
            cells[sweep["entry"]][float(sweep["lr_scale"])].append(run)
    return {entry: dict(sorted(by_scale.items())) for entry, by_scale in cells.items()}


def cell_runs(cells: Cells) -> list[Run]:
    """Every run of ``cells``: entry by entry, scale by scale."""
    return [run for by_scale in cells.values() for runs in by_scale.values() for run in runs]


def base_metric(metric: str) -> str:
    """``kid_valid`` -> ``kid``, ``kid_floor`` -> ``kid``."""
    return metric.removesuffix("_valid").removesuffix("_floor")


def lower_is_better(metric: str) -> bool:
    """Whether lower values of ``metric`` are better (see :data:`DIRECTIONS`); KeyError for a
    metric without a direction."""
    return DIRECTIONS[base_metric(metric)] == "lower"


def selectable(metric: str) -> bool:
    """Whether scales may be selected on ``metric``: a validation metric with a direction."""
    return metric.endswith("_valid") and base_metric(metric) in DIRECTIONS


def logged_metrics(runs: Iterable[Run]) -> set[str]:
    """Every metric name that some run logged a value of."""
    return {name for run in runs for name, (steps, _) in run.metrics.items() if len(steps)}


def selection_rule(cells: Cells, select_by: str | None = None, select_last: int | None = None,
                   select_rule: str | None = None) -> Rule:
    """The rule for ``cells``: each setting from the argument, else the runs' configs, else the
    default (see the module docstring). Raises :class:`ConfigError` when the runs disagree on a
    setting, for a bad ``select_last`` or ``select_rule``, and for a ``select_by`` that is not a
    validation metric these runs logged (naming the ones that would do)."""
    runs = cell_runs(cells)
    logged = logged_metrics(runs)
    if select_by is None:
        select_by = _from_configs(runs, "select_by")
    if select_by is None:
        select_by = DEFAULT_SELECT_BY if DEFAULT_SELECT_BY in logged or FALLBACK_SELECT_BY not in logged \
            else FALLBACK_SELECT_BY
    select_last = select_last if select_last is not None else _from_configs(runs, "select_last", DEFAULT_SELECT_LAST)
    select_rule = select_rule if select_rule is not None else _from_configs(runs, "select_rule", "last")
    why_not = ("is not a validation metric (test metrics are reported, never selected on)"
               if select_by in logged else "is not logged by these runs")
    check_selection(select_by, select_last, select_rule, sorted(metric for metric in logged if selectable(metric)),
                    why_not=why_not, none_valid="these runs logged no validation metric")
    return Rule(select_by, select_last, select_rule)


def check_selection(select_by: str | None, select_last, select_rule, valid: Sequence[str], why_not: str,
                    none_valid: str) -> None:
    """The one check of the selection settings, for a run's config and for the runs read back:
    raise :class:`ConfigError` (one line) for a ``select_last`` that is not a positive integer,
    a ``select_rule`` not in :data:`SELECT_RULES`, and a ``select_by`` not among ``valid`` (the
    validation metrics that may be selected on), saying ``select_by=... {why_not}; valid: ...``
    (``none: {none_valid}`` when nothing is valid). ``select_by`` None: not chosen yet, not checked."""
    check_positive("select_last", select_last, integer=True)
    check_choice("select_rule", select_rule, SELECT_RULES)
    if select_by is not None and select_by not in valid:
        choices = ", ".join(valid) if valid else f"none: {none_valid}"
        raise ConfigError(f"select_by={select_by!r} {why_not}; valid: {choices}")


def evaluations(run: Run, metric: str) -> Curve:
    """The finite values of ``metric`` and their steps, step 0 (the untrained model) left out
    unless nothing else was logged."""
    steps, values = run.curve(metric)
    keep = np.isfinite(values)
    steps, values = steps[keep], values[keep]
    trained = steps > 0
    return (steps[trained], values[trained]) if trained.any() else (steps, values)


def final_value(run: Run, metric: str, last: int = DEFAULT_SELECT_LAST) -> float:
    """Mean of the last ``last`` evaluations of ``metric`` after step 0 (see
    :func:`evaluations`); NaN when it was never logged."""
    values = evaluations(run, metric)[1]
    return float(np.mean(values[-last:])) if len(values) else math.nan


def untrained(run: Run, metric: str) -> float:
    """``metric`` at step 0: the untrained model, or a baseline logged once (floors, mean
    image); NaN when it was not logged at step 0."""
    steps, values = run.curve(metric)
    return float(values[0]) if len(steps) and steps[0] == 0 else math.nan


def baseline(run: Run, metric: str) -> float:
    """The first finite value of a metric logged once, at step 0 (a floor, the mean-image MSE);
    NaN when it was not logged."""
    values = run.curve(metric)[1]
    values = values[np.isfinite(values)]
    return float(values[0]) if len(values) else math.nan


def compute_clock(run: Run) -> str | None:
    """The cost clock ``run`` logged (:data:`COMPUTE_CLOCKS`, FLOPs first); None for neither."""
    return next((clock for clock in COMPUTE_CLOCKS if len(run.curve(clock)[0])), None)


def shared_compute_clock(runs: Sequence[Run]) -> str | None:
    """The cost clock every one of ``runs`` logged (:data:`COMPUTE_CLOCKS`, FLOPs first); None
    for neither (or no runs)."""
    return next((clock for clock in COMPUTE_CLOCKS if runs and all(len(run.curve(clock)[0]) for run in runs)), None)


def area_under_curve(run: Run, metric: str) -> float:
    """Area under ``metric`` (step 0 included) against FLOPs (else gradient evaluations, else
    steps), divided by the span: the metric's mean over the compute. NaN when never logged;
    the value itself for one evaluation."""
    steps, values = run.curve(metric)
    keep = np.isfinite(values)
    steps, values = steps[keep], values[keep]
    if not len(values):
        return math.nan
    clock = compute_clock(run)
    x = run.clock_at(steps, clock) if clock else steps.astype(float)
    if len(values) == 1 or x[-1] <= x[0]:
        return float(values[-1])
    area = np.sum(np.diff(x) * (values[1:] + values[:-1]) / 2)  # the trapezoid rule
    return float(area / (x[-1] - x[0]))


def diverged(run: Run) -> bool:
    return run.diverged_at is not None


def run_score(run: Run, rule: Rule) -> float:
    """The seed's score under ``rule``: final value or area under the curve of ``select_by``."""
    if rule.select_rule == "auc":
        return area_under_curve(run, rule.select_by)
    return final_value(run, rule.select_by, rule.select_last)


def eligible(runs: Sequence[Run], rule: Rule) -> bool:
    """Whether a cell (its seeds) may be selected: every seed completed without diverging and
    has a score."""
    return bool(runs) and all(not diverged(run) and run.status == "COMPLETED" and math.isfinite(run_score(run, rule))
                              for run in runs)


def selection_score(runs: Sequence[Run], rule: Rule) -> float:
    """Mean over the seeds of their scores, sign-flipped where higher is better, so that lower
    is better; +inf for a cell that is not :func:`eligible`."""
    if not eligible(runs, rule):
        return math.inf
    mean = float(np.mean([run_score(run, rule) for run in runs]))
    return mean if rule.lower_is_better else -mean


def select_scales(cells: Cells, select_by: str | None = None, select_last: int | None = None,
                  select_rule: str | None = None) -> dict[str, float | None]:
    """The selected scale of each entry (None when no scale is eligible), by the rule above
    (settings resolved by :func:`selection_rule`)."""
    rule = selection_rule(cells, select_by, select_last, select_rule)
    return select_with(cells, rule)


def select_with(cells: Cells, rule: Rule) -> dict[str, float | None]:
    """:func:`select_scales` under a resolved ``rule``."""
    selected = {}
    for entry, by_scale in cells.items():
        scored = sorted((selection_score(runs, rule), scale) for scale, runs in by_scale.items())
        selected[entry] = scored[0][1] if scored and math.isfinite(scored[0][0]) else None
    return selected


def best(run: Run, metric: str, lower: bool = True) -> float:
    """The best value ``metric`` reached at any evaluation (step 0 included); NaN if none."""
    values = run.curve(metric)[1]
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan
    return float(values.min() if lower else values.max())


def references(runs: Sequence[Run], metric: str) -> dict[str, float]:
    """Means over ``runs`` of the untrained value of ``metric`` (``untrained``), its real-vs-real
    floor (``floor``) and, for an MSE, the mean-image MSE (``mean_image``); NaN where not logged."""
    floor = FLOORS.get(base_metric(metric))
    return {"untrained": finite_mean(untrained(run, metric) for run in runs),
            "floor": finite_mean(baseline(run, floor) for run in runs) if floor else math.nan,
            "mean_image": finite_mean(baseline(run, MEAN_IMAGE) for run in runs) if base_metric(metric) == "recon_mse"
            else math.nan}


def target_for(runs: Sequence[Run], metric: str) -> tuple[float, float, float]:
    """The target of the time-to-target columns, and the baseline and best value it lies between.

    Baseline: the best of the baselines the runs logged: the untrained model (the mean over
    ``runs`` of ``metric`` at step 0) and, for an MSE, the mean-image MSE (logged on the test
    images; the validation images have none). Best: the best value any of ``runs`` reached.
    Target: halfway from the baseline to the best, so better than every baseline. NaN (no
    target) when no baseline was logged or no run beat it.
    """
    lower = lower_is_better(metric)
    baselines = [finite_mean(untrained(run, metric) for run in runs)]
    if base_metric(metric) == "recon_mse":
        baselines.append(finite_mean(baseline(run, MEAN_IMAGE) for run in runs))
    baselines = [value for value in baselines if math.isfinite(value)]
    reached = [value for value in (best(run, metric, lower) for run in runs) if math.isfinite(value)]
    if not baselines or not reached:
        return math.nan, math.nan, math.nan
    start = min(baselines) if lower else max(baselines)
    top = min(reached) if lower else max(reached)
    if not (top < start if lower else top > start):
        return math.nan, start, top
    return start + (top - start) / 2, start, top


def step_reaching(run: Run, metric: str, target: float, lower: bool = True) -> int | None:
    """The first evaluation step at which ``metric`` is at ``target`` or better; None if never."""
    steps, values = run.curve(metric)
    reached = np.flatnonzero(values <= target if lower else values >= target)
    return int(steps[reached[0]]) if len(reached) else None


def time_to_target(run: Run, metric: str, target: float, lower_is_better: bool = True,
                   clock: str = "wall_time") -> float:
    """``clock`` (``wall_time``, ``cpu_time``, ``flops``, ``grad_evals``) at the first evaluation
    where ``metric`` reaches ``target``; NaN if never (or the clock was not logged)."""
    step = step_reaching(run, metric, target, lower_is_better)
    return math.nan if step is None else float(run.clock_at(np.array([step]), clock)[0])


def _from_configs(runs: Sequence[Run], key: str, default=None):
    values = {repr(run.config[key]): run.config[key] for run in runs if run.config.get(key) is not None}
    if len(values) > 1:
        raise ConfigError(f"the runs disagree on {key}: {', '.join(sorted(values))}; give one {key} to select by")
    return next(iter(values.values()), default)

"""Stability of a run, and of an optimizer at a step size, from what its runs log.

The measures are pure functions of plain sequences (a cost axis and values); :func:`run_stability`
is the one place that reads them out of a :class:`~ali_opt.records.runs.Run`.

**Per run.**

- *diverged*: training stopped at a non-finite loss, gradient or parameter, and the run
  recorded the step (``diverged_at``; :func:`ali_opt.records.selection.diverged`).
- *degraded* (:func:`degraded`): the final value of the outcome is worse than the run's own
  best evaluation by more than the metric's noise, or worse than the untrained model:

      lower is better:   final > best + noise   or   final > untrained
      higher is better:  final < best - noise   or   final < untrained

  The final value is the last evaluation as measured (not averaged with earlier ones); the
  best is over the evaluations after step 0; the untrained value is the one at step 0.
- *loss oscillation* (:func:`loss_oscillation`): the standard deviation (ddof 0) of the
  logged loss gap ``loss_g - loss_d`` over the second half of the budget, the points with
  cost x > budget / 2. Training that settles holds a steady gap; a gap swinging between the
  players' advantage is the rotation around the equilibrium that simultaneous gradient play
  shows on bilinear games and GANs (Mescheder et al. 2017, "The Numerics of GANs"; Gidel et
  al. 2019, "A Variational Inequality Perspective on Generative Adversarial Networks").
- *gradient-norm growth* (:func:`grad_norm_growth`): the largest norm of the joint gradient
  field |xi| = sqrt(|grad_d|^2 + |grad_g|^2) over the second half of the budget divided by
  the largest over the first half (x <= budget / 2). Above 1: the field grew as training
  went on, the early sign of a divergence.

The cost axis is the run's compute clock (FLOPs, else gradient evaluations, else steps;
:func:`ali_opt.records.selection.compute_clock`) and the budget the run's configured budget on
that clock (``budget_flops``, ``budget_grad_evals``, ``steps``), else its last logged cost.
A diverged run whose curves stop before the second half has no oscillation and no growth
(NaN): its failure is counted as a divergence instead.

**Per optimizer and step size.** A seed *failed* when it diverged or degraded;
:func:`failure_rate` is the fraction of seeds that failed; :func:`scale_stability` gives it
beside the mean oscillation and growth over the seeds where they are defined, and
:func:`stability_by_scale` does so for every scale of one optimizer's runs. :func:`largest_stable_scale` is the
largest scale at which no seed failed whose next tried scale up had a seed fail; when the
largest tried scale had no failure and no such scale exists, it is at least the largest tried.
A scale above a failing scale is not counted as stable, even where no seed failed there: the
failure below shows the optimizer is not reliably stable in that range.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import check_nonnegative
from .runs import Run
from .selection import compute_clock, diverged, evaluations, lower_is_better, untrained
from .tables import finite_mean

BUDGET_KEYS = {"flops": "budget_flops", "grad_evals": "budget_grad_evals"}
"""The config key of the budget on each compute clock."""


@dataclass(frozen=True)
class RunStability:
    """The stability measures of one run (see the module docstring)."""

    diverged: bool
    degraded: bool
    loss_oscillation: float
    grad_norm_growth: float

    @property
    def failed(self) -> bool:
        return self.diverged or self.degraded


@dataclass(frozen=True)
class ScaleStability:
    """The stability of one optimizer at one scale: its seeds, the fraction that failed, and
    the means of the oscillation and of the growth over the seeds where they are defined."""

    seeds: int
    failure_rate: float
    loss_oscillation: float
    grad_norm_growth: float


@dataclass(frozen=True)
class StableScale:
    """The largest stable scale: ``scale`` exactly (``bound="exact"``), at least ``scale`` (the
    largest tried; ``"at least"``), or below ``scale`` (the smallest tried failed; ``"below"``)."""

    scale: float
    bound: str

    def __str__(self) -> str:
        return {"exact": "", "at least": "≥ ", "below": "< "}[self.bound] + f"{self.scale:g}"


def degraded(final: float, best: float, noise: float, untrained_value: float, lower_is_better: bool = True) -> bool:
    """Whether ``final`` is worse than ``best`` by more than ``noise`` (>= 0), or worse than
    ``untrained_value``; a NaN ``untrained_value`` skips that comparison, a NaN ``final`` or
    ``best`` is not degraded (nothing was measured)."""
    check_nonnegative("noise", noise)
    sign = 1.0 if lower_is_better else -1.0
    return bool(sign * (final - best) > noise or sign * (final - untrained_value) > 0)


def loss_oscillation(x: Sequence[float], gap: Sequence[float], budget: float | None = None) -> float:
    """The standard deviation of ``gap`` over the points with ``x`` > ``budget`` / 2
    (``budget`` None: the last ``x``); NaN with fewer than 2 finite such points."""
    x, gap = _finite_pairs(x, gap)
    if not len(x):
        return math.nan
    late = gap[x > _budget(x, budget) / 2]
    return float(np.std(late)) if len(late) >= 2 else math.nan


def grad_norm_growth(x: Sequence[float], norms: Sequence[float], budget: float | None = None) -> float:
    """The largest of ``norms`` over ``x`` > ``budget`` / 2 divided by the largest over ``x`` <=
    ``budget`` / 2 (``budget`` None: the last ``x``); NaN when a half is empty or the first
    half's largest is 0."""
    x, norms = _finite_pairs(x, norms)
    if not len(x):
        return math.nan
    early = x <= _budget(x, budget) / 2
    if early.all() or not early.any() or norms[early].max() == 0:
        return math.nan
    return float(norms[~early].max() / norms[early].max())


def failure_rate(failed: Sequence[bool]) -> float:
    """The fraction of seeds that failed; NaN for no seeds."""
    return float(np.mean(failed)) if len(failed) else math.nan


def largest_stable_scale(failed_by_scale: Mapping[float, Sequence[bool]]) -> StableScale:
    """The largest scale whose seeds all held (none in ``failed_by_scale[scale]`` is true) and
    whose next tried scale up had a seed fail; else at least the largest tried when its seeds
    held; else below the smallest tried (every scale had a failure). ValueError for no scales."""
    if not failed_by_scale:
        raise ValueError("largest_stable_scale needs at least one scale")
    scales = sorted(failed_by_scale)
    failing = [any(failed_by_scale[scale]) for scale in scales]
    bounded = [scale for scale, fails, next_fails in zip(scales, failing, failing[1:]) if not fails and next_fails]
    if bounded:
        return StableScale(bounded[-1], "exact")
    if not failing[-1]:
        return StableScale(scales[-1], "at least")
    return StableScale(scales[0], "below")


def scale_stability(seeds: Sequence[RunStability]) -> ScaleStability:
    """The :class:`ScaleStability` of the seeds of one scale."""
    return ScaleStability(len(seeds), failure_rate([seed.failed for seed in seeds]),
                          finite_mean(seed.loss_oscillation for seed in seeds),
                          finite_mean(seed.grad_norm_growth for seed in seeds))


def stability_by_scale(by_scale: Mapping[float, Sequence[Run]], metric: str,
                       noise: float) -> tuple[dict[float, ScaleStability], StableScale]:
    """For one optimizer's runs by scale: each scale's :class:`ScaleStability` (runs measured by
    :func:`run_stability` on ``metric`` with ``noise``) and the optimizer's largest stable scale."""
    measured = {scale: [run_stability(run, metric, noise) for run in runs] for scale, runs in by_scale.items()}
    summaries = {scale: scale_stability(seeds) for scale, seeds in sorted(measured.items())}
    failed = {scale: [seed.failed for seed in seeds] for scale, seeds in measured.items()}
    return summaries, largest_stable_scale(failed)


def run_stability(run: Run, metric: str, noise: float) -> RunStability:
    """The measures of ``run``: degraded on ``metric`` (the primary outcome, e.g. ``kid``) with
    the metric's ``noise``; oscillation and growth against the run's compute clock and budget."""
    steps, values = evaluations(run, metric)
    values = values[steps > 0]
    lower = lower_is_better(metric)
    if len(values):
        best = float(values.min() if lower else values.max())
        is_degraded = degraded(float(values[-1]), best, noise, untrained(run, metric), lower)
    else:
        is_degraded = False
    gap_steps, gap = run.curve("loss_gap")
    (steps_d, norm_d), (steps_g, norm_g) = run.curve("grad_norm_d"), run.curve("grad_norm_g")
    norm_steps, in_d, in_g = np.intersect1d(steps_d, steps_g, return_indices=True)
    budget = _configured_budget(run)
    return RunStability(diverged(run), is_degraded, loss_oscillation(_cost(run, gap_steps), gap, budget),
                        grad_norm_growth(_cost(run, norm_steps), np.hypot(norm_d[in_d], norm_g[in_g]), budget))


def _cost(run: Run, steps: np.ndarray) -> np.ndarray:
    """The compute clock of ``run`` at ``steps`` (the steps themselves when it logged none)."""
    clock = compute_clock(run)
    return run.clock_at(steps, clock) if clock else steps.astype(float)


def _configured_budget(run: Run) -> float | None:
    """The run's budget on its compute clock (FLOPs, gradient evaluations), else its ``steps``
    when it counts in steps, else None (the last logged cost stands in)."""
    clock = compute_clock(run)
    budget = run.config.get(BUDGET_KEYS[clock], 0) if clock else run.config.get("steps", 0)
    return float(budget) if budget and budget > 0 else None


def _budget(x: np.ndarray, budget: float | None) -> float:
    return float(x.max()) if budget is None else float(budget)


def _finite_pairs(x: Sequence[float], values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x, values = np.asarray(x, dtype=float), np.asarray(values, dtype=float)
    if x.shape != values.shape:
        raise ValueError(f"x and values must have one value per point, got {x.shape} and {values.shape}")
    keep = np.isfinite(x) & np.isfinite(values)
    return x[keep], values[keep]

"""Reading a step-size sweep back from its runs, and the selection rule of the main study.

A sweep run records ``sweep.entry`` (the comparison entry's label) and ``sweep.lr_scale``
in its config (see :mod:`studies.sweep_grid`). This module groups runs into cells
(entry, scale) and selects one scale per entry:

**Selection rule.** For each entry, the selected scale is the one with the lowest mean
over seeds of the *final* validation MSE (``recon_mse_valid`` at the run's last
evaluation, on training images set aside and never trained on). A scale is not eligible
when any of its seeds diverged, did not complete, or logged no validation MSE. Ties go to
the smaller scale. Nothing here reads the held-out test metrics (``recon_mse``,
``probe_accuracy``): they are reported at the selected scale only.

**Outcomes of a run.** *Diverged*: training stopped at a non-finite loss or gradient
(``diverged_at``). *Collapsed*: completed, with a final ``sample_diversity`` below
:data:`~ali_opt.diversity.COLLAPSE_THRESHOLD`.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from ..diversity import COLLAPSE_THRESHOLD
from .runs import Run

SELECTION_METRIC = "recon_mse_valid"


def sweep_runs(runs: Sequence[Run]) -> dict[str, dict[float, list[Run]]]:
    """Runs of a sweep by entry label, then by scale (both in first-seen order, scales sorted);
    runs without a ``sweep.entry`` are left out."""
    cells: dict[str, dict[float, list[Run]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        sweep = run.config.get("sweep") or {}
        if sweep.get("entry"):
            cells[sweep["entry"]][float(sweep["lr_scale"])].append(run)
    return {entry: dict(sorted(by_scale.items())) for entry, by_scale in cells.items()}


def final(run: Run, metric: str) -> float:
    """The value of ``metric`` at its last logged step (before any divergence); NaN if none."""
    values = run.curve(metric)[1]
    return float(values[-1]) if len(values) else math.nan


def best(run: Run, metric: str, lower_is_better: bool = True) -> float:
    values = run.curve(metric)[1]
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan
    return float(values.min() if lower_is_better else values.max())


def diverged(run: Run) -> bool:
    return run.diverged_at is not None


def collapsed(run: Run) -> bool:
    """Completed without diverging, and its final sample diversity is below the threshold."""
    return not diverged(run) and final(run, "sample_diversity") < COLLAPSE_THRESHOLD


def selection_score(runs: Sequence[Run]) -> float:
    """Mean over ``runs`` (the seeds of one cell) of the final validation MSE; +inf when any
    seed diverged, is not COMPLETED, or logged no validation MSE."""
    scores = [final(run, SELECTION_METRIC) for run in runs]
    if not runs or any(diverged(run) or run.status != "COMPLETED" or not math.isfinite(score)
                       for run, score in zip(runs, scores)):
        return math.inf
    return float(np.mean(scores))


def select_scales(cells: dict[str, dict[float, list[Run]]]) -> dict[str, float | None]:
    """The selected scale of each entry (None when no scale is eligible), by the rule above."""
    selected = {}
    for entry, by_scale in cells.items():
        scored = sorted((selection_score(runs), scale) for scale, runs in by_scale.items())
        selected[entry] = scored[0][1] if scored and math.isfinite(scored[0][0]) else None
    return selected


def time_to_target(run: Run, metric: str, target: float, lower_is_better: bool = True,
                   clock: str = "wall_time") -> float:
    """``clock`` at the first evaluation where ``metric`` reaches ``target``; NaN if never."""
    steps, values = run.curve(metric)
    reached = np.flatnonzero(values <= target if lower_is_better else values >= target)
    return float(run.clock_at(steps[reached[:1]], clock)[0]) if len(reached) else math.nan


def median_best(runs: Sequence[Run], metric: str, lower_is_better: bool = True) -> float:
    """The target of the time-to-target columns: the median over ``runs`` of each run's best
    value of ``metric``. Runs whose best is on the wrong side of the median never reach it, so
    unless all runs tie, some but not all reach it."""
    values = [best(run, metric, lower_is_better) for run in runs]
    values = [value for value in values if math.isfinite(value)]
    return float(np.median(values)) if values else math.nan

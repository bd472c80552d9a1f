"""One metric of several seeds against a cost clock: each seed's curve, and the seeds' values
side by side at the steps every seed logged (where a mean over seeds is defined).

A seed that ended early (diverged, interrupted) keeps its own curve, but the values side by
side stop at its last evaluation: averaging only the seeds that went on would hide it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .runs import Run


@dataclass(frozen=True)
class SeedCurves:
    """``seeds``: per run, ``(x, y)``, its finite values of the metric against the clock.
    ``x``: the mean clock over the seeds at the steps every seed logged (empty when they share
    none); ``values``: every seed's value there (rows: seeds, columns: ``x``)."""

    seeds: tuple[tuple[np.ndarray, np.ndarray], ...]
    x: np.ndarray
    values: np.ndarray


def seed_curves(runs: Sequence[Run], metric: str, clock: str | None) -> SeedCurves:
    """``metric`` of each of ``runs`` against ``clock`` (``flops``, ``grad_evals``, ``cpu_time``,
    ...; None: the step), finite values only, and the values at the shared steps."""
    curves, by_step = [], []
    for run in runs:
        steps, values = run.curve(metric)
        keep = np.isfinite(values)
        steps, values = steps[keep], values[keep]
        x = run.clock_at(steps, clock) if clock else steps.astype(float)
        curves.append((x, values))
        by_step.append(dict(zip(steps.tolist(), zip(x, values))))
    common = sorted(set.intersection(*(set(points) for points in by_step))) if by_step else []
    x = np.array([[points[step][0] for step in common] for points in by_step]).reshape(len(runs), len(common))
    y = np.array([[points[step][1] for step in common] for points in by_step]).reshape(len(runs), len(common))
    return SeedCurves(tuple(curves), np.mean(x, axis=0) if len(runs) else np.zeros(0), y)

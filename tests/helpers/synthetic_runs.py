"""Synthetic sweep runs for the tests of selection, statistics, stability, summaries and figures.

A run evaluates at steps 0, 10, 20, ... (step 0: the untrained model); every metric given
is logged at those steps, the clocks too: ``flops`` 1e9 per step (2e9 for names starting
with ``extra``), ``cpu_time`` 0.1 s per step, ``grad_evals`` 1 per step. Baselines (floors,
mean image) are logged at step 0 only.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ali_opt.records.runs import Run

BASELINES = {"kid_floor": 0.001, "fid_floor": 2.0, "precision_floor": 0.7, "recall_floor": 0.7,
             "recon_mse_mean_image": 0.06}


def synthetic_run(entry: str, scale: float, seed: int, curves: dict[str, list[float]], diverged_at: int | None = None,
                  status: str = "COMPLETED", baselines: dict[str, float] | None = None, **config) -> Run:
    """A run of ``entry`` at ``scale``: ``curves`` maps a metric to its values at steps 0, 10, ...
    (a diverged run gives only the values before ``diverged_at``)."""
    length = max(map(len, curves.values()))
    steps = np.arange(length) * 10
    per_step = 2e9 if entry.startswith("extra") else 1e9
    metrics = {metric: (steps[:len(values)], np.asarray(values, dtype=float)) for metric, values in curves.items()}
    metrics |= {"flops": (steps, steps * per_step), "cpu_time": (steps, steps * 0.1),
                "wall_time": (steps, steps * 0.05), "grad_evals": (steps, steps.astype(float))}
    for metric, value in (BASELINES if baselines is None else baselines).items():
        metrics[metric] = (np.array([0]), np.array([value]))
    config = {"seed": seed, "optimizer": {"name": entry}, "sweep": {"entry": entry, "lr_scale": scale}, **config}
    return Run(Path(f"/runs/{entry}/{scale}/{seed}"), config, status, {"diverged_at": diverged_at}, diverged_at,
               metrics)


SCALES = (1, 8, 64)
"""The step-size scales of :func:`entry_runs`."""


def entry_runs(entry: str, seeds: int, final_kid, scales=SCALES, diverge_at_64: bool = False) -> list[Run]:
    """Runs whose KID (validation and test) falls from 0.5 to about ``final_kid`` (per seed:
    ``final_kid[seed]``) at scale 8, a little worse (+0.02) at the other scales; recall rises to
    0.5, reconstruction MSE falls to 0.05. With ``diverge_at_64``, seed 0 diverges at step 15 of
    scale 64 (its curves stop after step 10)."""
    runs = []
    for scale in scales:
        for seed in range(seeds):
            offset = 0.0 if scale == 8 else 0.02
            end = final_kid[seed] + offset
            curves = {"kid_valid": [0.5, 0.3, end, end, end], "kid": [0.5, 0.3, end, end, end],
                      "recall": [0.1, 0.3, 0.5, 0.5, 0.5], "recon_mse": [0.3, 0.1, 0.05, 0.05, 0.05]}
            diverged = diverge_at_64 and scale == 64 and seed == 0
            if diverged:
                curves = {metric: values[:2] for metric, values in curves.items()}
            runs.append(synthetic_run(entry, scale, seed, curves, diverged_at=15 if diverged else None))
    return runs

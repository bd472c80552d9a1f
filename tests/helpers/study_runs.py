"""A synthetic two-stage study with known values, for the tests of its report and figures.

Stage one (seeds 0 and 1, evaluated at step 0 and step 40 only; losses and gradient norms
logged at steps 0, 10, ..., 40), validation KID at the end per scale:

- ``adam``, grid 1, 4, 16: 0.30, 0.20, and at 16 seed 0 diverges: best 4, interior; largest
  stable scale 4.
- ``alt_adam``, grid 0.25, 1, 4: 0.15, 0.25, 0.35: best 0.25, lower edge; nothing fails:
  largest stable scale at least 4.
- ``extra_adam``, grid 1, 4, 16: 0.40, 0.30, 0.20, but at 1 seed 1 ends worse than the
  untrained model (0.5 < 0.6, degraded): best 16, upper edge; largest stable at least 16.

Stage two (seeds 100 to 107, evaluated at steps 0, 10, 20, 30), test KID: at step 20 and at
the last evaluation (step 30) ``adam`` reads 0.10 and 0.20 + e_i, ``extra_adam`` 0.25 and
0.15 + e_i + f_i, ``alt_adam`` 0.12 and 0.20 + e_i + g_i: averaged over the last two adam
(0.15) beats extra_adam (0.20), at the last evaluation extra_adam (0.15) beats adam (0.20).
"""
from __future__ import annotations

import math

import numpy as np

from ali_opt.records.selection import Rule, sweep_runs
from tests.helpers.synthetic_runs import synthetic_run

BASELINES = {"kid_floor": 0.001, "fid_floor": 2.0, "coverage_floor": 0.9, "kid_valid_floor": 0.001}
GRIDS = {"adam": (1.0, 4.0, 16.0), "alt_adam": (0.25, 1.0, 4.0), "extra_adam": (1.0, 4.0, 16.0)}
SELECTION_KID = {"adam": {1.0: 0.30, 4.0: 0.20, 16.0: 0.25}, "alt_adam": {0.25: 0.15, 1.0: 0.25, 4.0: 0.35},
                 "extra_adam": {1.0: 0.40, 4.0: 0.30, 16.0: 0.20}}
SELECTED = {"adam": 4.0, "alt_adam": 0.25, "extra_adam": 16.0}
SEEDS = tuple(range(100, 108))
SPREAD = np.array([0.01, -0.02, 0.03, 0.0, -0.01, 0.02, -0.03, 0.015])
"""e_i: the shared part of seed i (the networks it starts from)."""
EXTRA = np.array([0.002, -0.001, 0.0, 0.003, -0.002, 0.001, 0.0, -0.003])
"""f_i: extra_adam's own part."""
ALT = np.array([0.004, -0.003, 0.001, -0.002, 0.0, 0.003, -0.001, -0.002])
"""g_i: alt_adam's own part."""
LAST = {"adam": 0.20 + SPREAD, "extra_adam": 0.15 + SPREAD + EXTRA, "alt_adam": 0.20 + SPREAD + ALT}
PENULTIMATE = {"adam": 0.10, "extra_adam": 0.25, "alt_adam": 0.12}
NAN = math.nan


def _losses(length: int, swing: float) -> dict[str, list[float]]:
    gap = [0.1 + swing * (-1) ** step for step in range(length)]
    loss_d = [1.3] * length
    return {"loss_d": loss_d, "loss_g": [d + g for d, g in zip(loss_d, gap)], "loss_gap": gap,
            "grad_norm_d": [1.0 + 0.1 * step for step in range(length)], "grad_norm_g": [1.0] * length}


def selection_runs() -> list:
    """Stage one's runs (module docstring)."""
    runs = []
    for entry, by_scale in SELECTION_KID.items():
        for scale, kid in by_scale.items():
            for seed in (0, 1):
                end = kid + (0.01 if seed else -0.01)
                if entry == "extra_adam" and scale == 1.0 and seed == 1:
                    end = 0.6
                curves = {"kid_valid": [0.5, NAN, NAN, NAN, end], "kid": [0.5, NAN, NAN, NAN, end + 0.01],
                          **_losses(5, 0.05 * scale)}
                diverged = entry == "adam" and scale == 16.0 and seed == 0
                if diverged:
                    curves = {metric: values[:3] for metric, values in curves.items()}
                runs.append(synthetic_run(entry, scale, seed, curves, diverged_at=25 if diverged else None,
                                          baselines=BASELINES, sweep={"entry": entry, "lr_scale": scale,
                                                                      "stage": "selection"}))
    return runs


def confirmation_runs() -> list:
    """Stage two's runs (module docstring)."""
    runs = []
    for entry, scale in SELECTED.items():
        for index, seed in enumerate(SEEDS):
            last = float(LAST[entry][index])
            curves = {"kid": [0.5, 0.3, PENULTIMATE[entry], last], "fid": [300.0, 200.0, 150.0, 100.0 + index],
                      "coverage": [0.05, 0.2, 0.3, 0.4 + 0.01 * index], **_losses(4, 0.02)}
            runs.append(synthetic_run(entry, scale, seed, curves, baselines=BASELINES,
                                      sweep={"entry": entry, "lr_scale": scale, "stage": "confirmation"}))
    return runs


def noise_draws() -> dict[str, list[list[float]]]:
    """Per entry and stage-two seed: the logged last KID, then two other draws at +-a_i with
    a_i = 0.001 (i + 1) for adam, 0.002 for every seed of the others."""
    return {entry: [[float(value), float(value) + step, float(value) - step]
                    for value, step in zip(LAST[entry], (0.001 * (np.arange(8) + 1) if entry == "adam"
                                                         else np.full(8, 0.002)))]
            for entry in SELECTED}


def study_cells():
    """``(selection cells, confirmation cells)``."""
    runs = selection_runs() + confirmation_runs()
    return sweep_runs(runs, stage="selection"), sweep_runs(runs, stage="confirmation")


RULE = Rule("kid_valid", 1, "last")

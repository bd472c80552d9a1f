"""The cells of a step-size sweep: every comparison entry x every step-size scale x every seed.

A sweep config is a training config (:mod:`studies.train_ali`) plus:
- ``comparison``: a list of changes to ``optimizer``, each with at least a ``name`` and
  optionally a ``label`` (default: the name) that tells two entries of one optimizer apart;
- ``lr_scales``: multipliers of each entry's step sizes (``optimizer.lr``, both players
  scaled together);
- ``seeds``: runs per entry and scale, with seeds ``seed``, ``seed + 1``, ...;
- ``budget_grad_evals`` (> 0): every cell stops once its gradient evaluations reach it, so
  every cell gets the same compute whatever its evaluations per step; ``steps`` is set to
  the budget, a cap that never binds first (every optimizer spends at least one evaluation
  per step);
- the executor keys of :mod:`ali_opt.runtime` (``executor``, ``workers``, ``threads``,
  ``slurm``), and ``pdf``.

Each cell is one ordinary ``studies.train_ali`` run in ``output`` with the key
``<label>/lr<scale>/seed<seed>``; its config records ``sweep.entry`` and
``sweep.lr_scale`` for the figures.
"""
from __future__ import annotations

import math

from ali_opt.errors import ConfigError, check_positive
from ali_opt.runtime import EXECUTOR_KEYS, Cell

from . import train_ali
from .comparison import training_config

SWEEP_KEYS = ("comparison", "seeds", "pdf", "lr_scales", *(key for key in EXECUTOR_KEYS if key != "threads"))
"""Study keys that are not training keys (``threads`` is both)."""


def entry_label(entry: dict) -> str:
    return str(entry.get("label") or entry["name"])


def scaled(lr, scale: float):
    """``optimizer.lr`` (a number, or one per player) times ``scale``."""
    if isinstance(lr, dict):
        return {player: value * scale for player, value in lr.items()}
    return lr * scale


def check_sweep_config(config: dict) -> None:
    """Raise :class:`ConfigError` for the first bad sweep key (then every cell's training config)."""
    scales = config["lr_scales"]
    if not isinstance(scales, (list, tuple)) or not scales:
        raise ConfigError(f"lr_scales={scales!r} is not valid; give a non-empty list of positive multipliers, "
                          "such as [0.5, 1, 2, 4]")
    for index, scale in enumerate(scales):
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (math.isfinite(scale) and scale > 0):
            raise ConfigError(f"lr_scales[{index}]={scale!r} is not valid; every scale must be a positive number")
    if len(set(scales)) != len(scales):
        raise ConfigError(f"lr_scales={scales!r} is not valid; a scale is listed twice")
    check_positive("budget_grad_evals", config["budget_grad_evals"], integer=True)
    check_positive("seeds", config["seeds"], integer=True)
    if not isinstance(config["comparison"], (list, tuple)) or not config["comparison"]:
        raise ConfigError(f"comparison={config['comparison']!r} is not valid; give a non-empty list of entries, "
                          'such as [{"name": "adam"}, {"name": "extra_adam"}]')
    labels = []
    for index, entry in enumerate(config["comparison"]):
        if not isinstance(entry, dict) or "name" not in entry:
            raise ConfigError(f"comparison[{index}]={entry!r} is not valid; each entry is a dict with at least a name")
        labels.append(entry_label(entry))
        if labels.count(labels[-1]) > 1:
            raise ConfigError(f"comparison[{index}] has the label {labels[-1]!r} of an earlier entry; "
                              'give each entry of one optimizer its own "label"')
    if not config["output"]:
        raise ConfigError('output="" is not valid for a sweep: its runs and figures need a folder')


def sweep_cells(config: dict) -> list[Cell]:
    """The cells of the sweep ``config`` (checked first): entries, then scales, then seeds."""
    check_sweep_config(config)
    cells = []
    for entry in config["comparison"]:
        changes = {key: value for key, value in entry.items() if key != "label"}
        for scale in config["lr_scales"]:
            for seed in range(config["seed"], config["seed"] + config["seeds"]):
                training = {key: value for key, value in training_config(config, changes, seed).items()
                            if key not in SWEEP_KEYS}
                training["optimizer"]["lr"] = scaled(training["optimizer"]["lr"], scale)
                training["steps"] = config["budget_grad_evals"]
                training["sweep"] = {"entry": entry_label(entry), "lr_scale": scale}
                train_ali.check_training_config(training)
                cells.append(Cell(f"{entry_label(entry)}/lr{scale:g}/seed{seed}", training))
    return cells

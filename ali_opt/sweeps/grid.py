"""The cells of a step-size sweep: every comparison entry x every step-size scale x every seed.

A sweep config is a training config (:mod:`ali_opt.config`) plus:
- ``comparison``: a list of changes to ``optimizer``, each with at least a ``name`` and
  optionally a ``label`` (default: the name) that tells two entries of one optimizer apart,
  and training keys of :data:`~ali_opt.sweeps.comparison.ENTRY_TRAINING_KEYS`, e.g.
  ``{"name": "adam", "label": "adam+noise", "instance_noise": {"std": 0.1, "anneal_steps": 5000}}``;
- ``lr_scales``: multipliers of each entry's step sizes (``optimizer.lr``, both players
  scaled together);
- ``seeds``: runs per entry and scale, with seeds ``seed``, ``seed + 1``, ...;
- one budget, the same for every cell, whatever its work per step: ``budget_flops`` > 0 (the
  default: each cell stops once the FLOPs of its steps reach it, as ``FlopCounterMode``
  counts them, see :mod:`ali_opt.metrics.flops`) or ``budget_grad_evals`` > 0 (once its
  gradient evaluations reach it), the other 0. ``steps`` is set to a cap that never binds
  first: the budget itself, rounded up (every step spends at least one evaluation, and
  counts at least one FLOP). ``eval_points`` (fractions of the budget) are the same for
  every cell, so every cell is evaluated at the same compute;
- the executor keys of :mod:`ali_opt.runtime` (``executor``, ``workers``, ``threads``,
  ``slurm``), and ``pdf``.

Each cell is one ordinary training run in ``output`` with the key
``<label>/lr<scale>/seed<seed>``; its config records ``sweep.entry`` and
``sweep.lr_scale`` for the figures.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from ali_opt.config import SWEEP_KEYS, check_budgets, check_training_config
from ali_opt.errors import ConfigError, check_integer, check_positive
from ali_opt.runtime import Cell

from .comparison import training_config


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
    check_sweep_budget(config)
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


def check_sweep_budget(config: dict) -> None:
    """One budget > 0: ``budget_flops`` (FLOPs) or ``budget_grad_evals`` (gradient evaluations), the other 0."""
    evals, flops = config["budget_grad_evals"], config.get("budget_flops", 0)
    check_integer("budget_grad_evals", evals, note="0 where the sweep's budget is budget_flops")
    no_flops = isinstance(flops, bool) or not isinstance(flops, (int, float)) or not (math.isfinite(flops) and flops > 0)
    if no_flops and not (evals > 0 and flops == 0):
        raise ConfigError(f"budget_flops={flops!r} is not valid for a sweep; it must be a number of FLOPs > 0, such as "
                          "2.5e12 (or 0, with budget_grad_evals > 0 for a budget in gradient evaluations)")
    check_budgets({**config, "budget_flops": flops})  # not both


def step_cap(config: dict) -> int:
    """``steps`` of a sweep's cells: a cap that never binds before the budget (a step spends at
    least one gradient evaluation and counts at least one FLOP)."""
    if config.get("budget_flops", 0) > 0:
        return math.ceil(config["budget_flops"])
    return config["budget_grad_evals"]


def sweep_cells(config: dict) -> list[Cell]:
    """The cells of the sweep ``config`` (checked first): entries, then scales, then seeds."""
    check_sweep_config(config)
    check_positive("seeds", config["seeds"], integer=True)
    seeds = range(config["seed"], config["seed"] + config["seeds"])
    return grid_cells(config, {entry_label(entry): config["lr_scales"] for entry in config["comparison"]}, seeds)


def grid_cells(config: dict, scales: dict[str, Sequence[float]], seeds: Sequence[int], *, stage: str = "",
               eval_points: Sequence[float] | None = None) -> list[Cell]:
    """Cells of each entry of ``config["comparison"]`` at the ``scales`` listed for its label, on
    ``seeds``: entries, then scales, then seeds. A ``stage`` goes into the key
    (``<stage>/<label>/lr<scale>/seed<seed>``) and ``sweep.stage``; ``eval_points`` replaces the
    config's."""
    cells = []
    for entry in config["comparison"]:
        label = entry_label(entry)
        changes = {key: value for key, value in entry.items() if key != "label"}
        for scale in scales.get(label, ()):
            for seed in seeds:
                training = {key: value for key, value in training_config(config, changes, seed).items()
                            if key not in SWEEP_KEYS}
                training["optimizer"]["lr"] = scaled(training["optimizer"]["lr"], scale)
                training["steps"] = step_cap(config)
                training["sweep"] = {"entry": label, "lr_scale": scale, "stage": stage}
                if eval_points is not None:
                    training["eval_points"] = eval_points
                check_training_config(training)
                training["eval_points"] = list(training["eval_points"])  # a plain list, as in a JSON config
                key = f"{label}/lr{scale:g}/seed{seed}"
                cells.append(Cell(f"{stage}/{key}" if stage else key, training))
    return cells

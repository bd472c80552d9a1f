"""Does (stochastic) extragradient train ALI on CIFAR-10 more stably, and reach a lower
held-out reconstruction error per unit of compute, than simultaneous or alternating updates?

    python -m studies.extragradient_cifar10 with data.root=../shared/data                # the CPU sweep (~40 min, 2 cores)
    python -m studies.extragradient_cifar10 with data.root=~/data paper executor=slurm   # paper model, full grid
    python -m studies.extragradient_cifar10 with data.root=../shared/data extra_adam     # one optimizer, one run

Without a chosen optimizer (``optimizer.name=""``, the default) the study sweeps the step
size: every entry of ``comparison`` x every value of ``lr_scales`` (multiplying both
players' step sizes) x ``seeds`` seeds, each cell an ordinary :mod:`studies.train_ali` run
in ``output`` that stops at the same budget of gradient evaluations
(``budget_grad_evals``). The cells run through :func:`ali_opt.runtime.run_cells`
(``executor``, ``workers``, ``threads``, ``slurm``); re-running the command skips finished
cells and resumes interrupted ones. Then each optimizer's scale is selected on validation
MSE and the figures and summary go into ``output/figures`` (see
:mod:`ali_opt.plots.sweep` and :mod:`ali_opt.plots.sweep_selection`); the sweep itself is
recorded in ``output/comparisons``. With ``optimizer.name`` set (or a named config such as
``with extra_adam``) it trains that optimizer as one run. Every config key of
:mod:`studies.train_ali` applies.
"""
from __future__ import annotations

import ali_opt  # noqa: F401
import sys
from pathlib import Path

from sacred import Experiment
from sacred.utils import apply_backspaces_and_linefeeds

from ali_opt.errors import ConfigError
from ali_opt.plots.runs import group_runs, load_runs
from ali_opt.plots.sweep_selection import select_scales, sweep_runs
from ali_opt.runtime import EXECUTOR_DEFAULTS, EXECUTOR_KEYS, FAILED, run_cells
from ali_opt.runtime.sacred_setup import file_storage_flag_as_config
from ali_opt.training import load_run_data

from . import train_ali
from .comparison import comparing, observe_study, training_config
from .plot import draw_all
from .sweep_grid import sweep_cells

ex = Experiment("extragradient_cifar10", save_git_info=False)
ex.captured_out_filter = apply_backspaces_and_linefeeds
train_ali.add_training_configs(ex)


@ex.config
def study_config():
    optimizer = dict(train_ali.PAPER_OPTIMIZER, name="", lr={"d": 1e-4, "g": 5e-4})  # name "": the sweep
    output = "runs/extragradient_cifar10"
    comparison = [  # what each entry changes in `optimizer` (an optional "label" tells entries apart)
        {"name": "adam"},
        {"name": "alt_adam"},
        {"name": "extra_adam", "resample": True},
        {"name": "optimistic_adam"},
    ]
    lr_scales = [1, 8, 64]  # multipliers of each entry's lr, both players together
    seeds = 2  # cells per entry and scale, with seeds seed, seed+1, ...
    budget_grad_evals = 1600  # every cell stops at this many gradient evaluations
    # The CPU-sized cell (calibrated on 2 cores, see the README): cifar32 at 1/8 width, batch 64.
    width = 0.125
    batch_size = 64
    log_every = 25
    eval_every = 200
    eval_batch_size = 250
    checkpoint_every = 500
    data = {"heldout": 1000, "validation": 1000}
    executor = EXECUTOR_DEFAULTS["executor"]  # local or slurm (ali_opt.runtime)
    workers = None  # cells at once (local), >= 1; None or "auto": one per GPU with CUDA, else one per CPU core
    threads = None  # torch threads per cell, >= 1; None or "auto": the cores divided among the workers
    slurm = dict(EXECUTOR_DEFAULTS["slurm"])  # partition, time_min, cpus_per_task, gpus_per_task, ...
    pdf = False  # also write the figures as PDF


@ex.named_config
def paper():
    """The full-width paper model and a full grid, for a GPU cluster (``executor=slurm``)."""
    width = 1.0
    batch_size = 100
    budget_grad_evals = 40000
    log_every = 50
    eval_every = 1000
    eval_batch_size = 500
    checkpoint_every = 2000
    comparison = [
        {"name": "adam"},
        {"name": "alt_adam"},
        {"name": "extra_adam", "resample": True},
        {"name": "past_extra_adam"},
        {"name": "optimistic_adam"},
        {"name": "gda", "lr": {"d": 1e-2, "g": 1e-2}},
        {"name": "extragradient", "resample": True, "lr": {"d": 1e-2, "g": 1e-2}},
    ]
    lr_scales = [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128]
    seeds = 3


file_storage_flag = file_storage_flag_as_config(ex, "output")  # -F DIR is output=DIR


@ex.config_hook
def validate_and_observe(config, command_name, logger):
    updates = file_storage_flag(config)
    config = {**config, **updates}
    if comparing(config):
        sweep_cells(config)  # checks the sweep keys, then every cell's training config
    else:
        train_ali.check_training_config(training_config(config, {}, config["seed"]))
    observe_study(ex, config)
    return updates


@ex.main
def main(_config, _run, _log):
    config = dict(_config)
    if config["optimizer"]["name"]:
        return train_ali.train_run(config, _run, _log)
    cells = sweep_cells(config)
    load_run_data(cells[0].config)  # once, here: a missing download happens once, a wrong data.root fails once
    outcomes = run_cells(cells, {key: config[key] for key in EXECUTOR_KEYS})
    for outcome in outcomes:
        if outcome.status == FAILED:
            _log.warning("cell %s failed: %s", outcome.key, outcome.error)
    folders = [folder for outcome in outcomes if outcome.status != FAILED for folder in outcome.folders]
    if not folders:
        raise ConfigError(f"every cell of the sweep failed; see the logs in {Path(config['output']) / 'executor'}")
    runs, _ = load_runs(folders)
    figures = draw_all(group_runs(runs), Path(config["output"]) / "figures", pdf=config["pdf"])
    for path in figures:
        _run.add_artifact(path)
    return {
        "cells": [{"key": outcome.key, "status": outcome.status, "folders": [str(f) for f in outcome.folders],
                   "result": outcome.result, "error": outcome.error} for outcome in outcomes],
        "selected_scales": select_scales(sweep_runs(runs)),
        "figures": [str(path) for path in figures],
    }


if __name__ == "__main__":
    try:
        ex.run_commandline()
    except KeyboardInterrupt:  # the running cells have checkpointed and stopped (see executor=local)
        sys.exit("interrupted: the running cells wrote checkpoints; run the same command again to resume them "
                 "(finished cells are skipped)")

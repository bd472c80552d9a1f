"""Does (stochastic) extragradient train ALI on CIFAR-10 more stably, and to better samples per
unit of compute, than simultaneous or alternating updates?

    python -m studies.extragradient_cifar10 with data.root=../shared/data                # the CPU study (2 cores)
    python -m studies.extragradient_cifar10 with mnist data.root=../shared/data          # the same study on MNIST
    python -m studies.extragradient_cifar10 with data.root=~/data paper executor=slurm   # paper model, full grid
    python -m studies.extragradient_cifar10 with data.root=../shared/data extra_adam     # one optimizer, one run

Without a chosen optimizer (``optimizer.name=""``, the default) the study runs in two stages
(:mod:`ali_opt.sweeps.stages`). Stage one trains every entry of ``comparison`` at every scale
of its grid (first ``lr_scales``, multiplying both players' step sizes) on
``selection_seeds`` seeds, evaluated at the end of the budget; it extends each grid where the
best scale lies on an edge, and upwards until a scale fails (``bracketing``,
``bracket_factor``, ``bracket_rounds``), and selects each entry's scale on ``select_by``, a
validation metric. Stage two trains each entry at its selected scale on
``confirmation_seeds`` fresh seeds (from ``confirmation_seed``), evaluated at ``eval_points``;
only these runs give the outcomes, the stability table and the paired verdicts on
``primary`` (:mod:`ali_opt.records.study_report`), with the metric's own noise measured on
``noise_draws`` other sets of prior draws (:mod:`ali_opt.sweeps.metric_noise`). Every cell is
an ordinary :mod:`studies.train_ali` run in ``output`` that stops at the same budget of
compute: ``budget_flops``, FLOPs as ``torch.utils.flop_counter.FlopCounterMode`` counts them
for each optimizer's step (or, with ``budget_flops=0``, ``budget_grad_evals`` gradient
evaluations). The cells run through :func:`ali_opt.runtime.run_cells` (``executor``,
``workers``, ``threads``, ``slurm``); re-running the command skips finished cells and resumes
interrupted ones, and recomputes every decision from the runs that finished. The figures
and tables go into ``output/figures`` (:mod:`ali_opt.plots.study_figures`); the study itself
is recorded in ``output/comparisons``. With ``optimizer.name`` set (or a named config such
as ``with extra_adam``) it trains that optimizer as one run. Every config key of
:mod:`studies.train_ali` applies.
"""
from __future__ import annotations

import ali_opt  # noqa: F401
import sys
from pathlib import Path

from sacred import Experiment
from sacred.utils import apply_backspaces_and_linefeeds

from ali_opt.config import CELL_KEYS, PAPER_OPTIMIZER, add_training_configs, check_training_config
from ali_opt.errors import ConfigError
from ali_opt.metrics.run_digit_measures import prepare_classifier
from ali_opt.metrics.run_sample_quality import prepare_real_sets
from ali_opt.plots.study_figures import draw_study
from ali_opt.records.runs import load_runs
from ali_opt.records.selection import select_with, sweep_runs
from ali_opt.records.study_report import study_report, write_study_report
from ali_opt.runtime import EXECUTOR_DEFAULTS, EXECUTOR_KEYS, FAILED, ExecutorConfig, run_cells
from ali_opt.runtime.sacred_setup import file_storage_flag_as_config, run_commandline
from ali_opt.sweeps.comparison import comparing, observe_study, training_config
from ali_opt.sweeps.metric_noise import noise_table
from ali_opt.sweeps.stages import (CONFIRMATION, SELECTION, StudyDesign, check_study, confirmation_cells,
                                   initial_scales, run_selection, selection_cells)
from ali_opt.training import load_run_data

from . import train_ali

ex = Experiment("extragradient_cifar10", save_git_info=False)
ex.captured_out_filter = apply_backspaces_and_linefeeds
add_training_configs(ex)
MNIST_TRAINING = ex.named_configs.pop("mnist")()
"""The training named config ``mnist``'s values (:func:`ali_opt.config.mnist`). The study's own
``mnist`` (below) takes its data, model and batch size from them and replaces it here (Sacred
refuses a second config of one name): ``with mnist`` is the study on MNIST, not one Adam run."""


@ex.config
def study_config():
    optimizer = dict(PAPER_OPTIMIZER, name="", lr={"d": 1e-4, "g": 5e-4})  # name "": the sweep
    output = "runs/extragradient_cifar10"
    comparison = [  # what each entry changes in `optimizer` (an optional "label" tells entries apart)
        {"name": "adam"},
        {"name": "alt_adam"},
        {"name": "extra_adam", "resample": True},
    ]
    lr_scales = [1, 8]  # stage one's first grid: multipliers of each entry's lr, both players together
    selection_seeds = 2  # stage one: seeds seed, seed+1, ... per entry and scale, evaluated at the budget's end
    confirmation_seeds = 8  # stage two: fresh seeds per entry at its selected scale; only they give verdicts
    confirmation_seed = 100  # stage two's first seed (disjoint from stage one's)
    bracketing = True  # extend the grid where its edge holds the best scale, and upwards until a scale fails
    bracket_factor = 4  # each extension multiplies (or divides) the edge scale by this
    bracket_rounds = 2  # extensions at most (0: the lr_scales grid only)
    primary = "kid"  # stage two's outcome, on the test images at the end of the budget (as measured)
    equivalence_margin = None  # equivalence margin of the primary; None: 10% of its untrained-to-floor range
    # stage two's final checkpoints re-evaluated with this many other prior draws (the metric's noise); each is
    # an Inception pass over the samples: 7 s a run on the idle 2-core machine (docs/main-study.md)
    noise_draws = 3
    budget_flops = 0.6e12  # every cell stops once its steps' FLOPs reach this (about 610 Adam steps here)
    budget_grad_evals = 0  # or, with budget_flops=0, at this many gradient evaluations
    eval_points = [0, 0.5, 1.0]  # fractions of the budget stage two evaluates at (0: untrained; stage one: [0, 1])
    sample_quality = {"samples": 200, "real_images": 500}  # FID, KID, precision/recall in Inception space
    select_by = "kid_valid"  # selection: KID against the validation images ...
    select_last = 1  # ... at the end of the budget (stage one evaluates only there)
    diversity_samples = 0  # the pixel spread is not measured: collapse shows as low recall
    # The CPU-sized cell (sized on 2 cores, see docs/main-study.md): cifar32 at 1/8 width, batch 64.
    width = 0.125
    batch_size = 64
    log_every = 25
    eval_every = 200
    eval_batch_size = 250
    checkpoint_every = 250
    data = {"heldout": 500, "validation": 500}
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
    budget_flops = 3.0e15  # about 40000 Adam steps of the full-width model at batch 100
    budget_grad_evals = 0
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
    selection_seeds = 3
    confirmation_seeds = 12  # 21 pairs: Holm needs p < 0.05 / 21; the paired exact test reaches 2 / 2**12 = 0.0005
    eval_points = [0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0]
    sample_quality = {"samples": 5000, "real_images": 5000}
    data = {"heldout": 5000, "validation": 5000}


@ex.named_config
def mnist():
    """The step-size study on MNIST (docs/mnist.md): the training config ``mnist``'s data, model
    and batch size, the study's base step sizes (G 5e-4, D 1e-4), the digit-level outcomes
    (Inception off: it is for RGB 32x32), sized to finish both stages within 30 minutes on
    2 CPU cores (measured in docs/mnist.md)."""
    output = "runs/extragradient_mnist"  # not the CIFAR-10 study's folder: its cells have the same keys
    model = MNIST_TRAINING["model"]
    batch_size = MNIST_TRAINING["batch_size"]
    data = dict(MNIST_TRAINING["data"], validation=1000)  # 1000 test and 1000 validation images; the rest trains
    width = 0.25
    budget_flops = 1.3e12  # about 310 Adam steps of mnist28 at quarter width, batch 100
    eval_points = [0, 0.5, 1.0]
    lr_scales = [1, 4]
    bracket_rounds = 1
    selection_seeds = 2
    primary = "class_fid"  # FID in the digit classifier's features: it moves within the budget (docs/mnist.md)
    select_by = "class_fid_valid"  # ... against the validation images
    sample_quality = {"samples": 0}
    digits = {"samples": 1000, "images": 1000}
    probe = {"images": 0}
    eval_batch_size = 500
    log_every = 20
    checkpoint_every = 200


file_storage_flag = file_storage_flag_as_config(ex, "output")  # -F DIR is output=DIR


@ex.config_hook
def validate_and_observe(config, command_name, logger):
    updates = file_storage_flag(config)
    config = {**config, **updates}
    if comparing(config):
        check_study(config)  # the sweep and stage keys, then every first cell's training config
        executor(config)  # before any data is read
    else:
        check_training_config(training_config(config, {}, config["seed"]))
    observe_study(ex, config)
    return updates


def executor(config: dict) -> ExecutorConfig:
    """The sweep's executor config, checked (one line naming the key for a bad value)."""
    return ExecutorConfig.from_config({key: config[key] for key in EXECUTOR_KEYS})


@ex.main
def main(_config, _run, _log):
    config = dict(_config)
    if config["optimizer"]["name"]:
        return train_ali.train_run(config, _run, _log)
    design = StudyDesign.from_config(config)
    first = selection_cells(config, design, initial_scales(config))
    dataset = load_run_data(first[0].config)  # once, here: a missing download happens once, a wrong data.root fails once
    prepare_real_sets(first[0].config, dataset)  # the real images' features, once, before cells compute them at once
    prepare_classifier(first[0].config, dataset)  # on MNIST: the digit classifier, trained once, not by every cell
    stages = StageRunner(config, _log)
    selection_runs, grids, rule = run_selection(config, design, stages.run)
    selection = sweep_runs(selection_runs, SELECTION)
    selected = select_with(selection, rule)
    confirmation = sweep_runs(stages.run(confirmation_cells(config, design, selected)), CONFIRMATION)
    if not confirmation:
        raise ConfigError(f"no cell of stage two finished; see the logs in {Path(config['output']) / 'executor'}")
    noise = {label: noise_table(confirmation[label][selected[label]], config["primary"], config["noise_draws"])
             for label in confirmation}
    report = study_report(selection, grids, selected, confirmation, rule,
                          config["primary"], config["equivalence_margin"], noise)
    out = Path(config["output"]) / "figures"
    figures = write_study_report(report, out) + draw_study(report, out, pdf=config["pdf"])
    for path in figures:
        _run.add_artifact(path)
    return {
        "cells": [outcome_record(outcome) for outcome in stages.outcomes.values()],
        "selected_scales": selected,
        "grids": grids,
        "figures": [str(path) for path in figures],
    }


class StageRunner:
    """Runs a stage's cells through the configured executor and reads back the runs that finished."""

    def __init__(self, config: dict, log):
        self.config, self.log = config, log
        self.outcomes: dict[str, object] = {}

    def run(self, cells) -> list:
        outcomes = run_cells(cells, executor(self.config), entry_point=train_ali.__name__, keys=CELL_KEYS)
        for outcome in outcomes:
            self.outcomes.setdefault(outcome.key, outcome)  # what this invocation did first: later rounds skip it
            if outcome.status == FAILED:
                self.log.warning("cell %s failed: %s", outcome.key, outcome.error)
        runs, _ = load_runs([folder for outcome in outcomes if outcome.status != FAILED for folder in outcome.folders])
        return runs


def outcome_record(outcome) -> dict:
    return {"key": outcome.key, "status": outcome.status, "folders": [str(f) for f in outcome.folders],
            "result": outcome.result, "error": outcome.error}


if __name__ == "__main__":
    try:
        run_commandline(ex)
    except KeyboardInterrupt:  # the running cells have checkpointed and stopped (see executor=local)
        sys.exit("interrupted: the running cells wrote checkpoints; run the same command again to resume them "
                 "(finished cells are skipped)")

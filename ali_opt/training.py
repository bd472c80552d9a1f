"""The ALI training loop: steps, logging, evaluation, checkpoints, divergence and resume.

One call of :func:`train` is one run. It logs through a ``log(name, value, step)``
callable (Sacred's ``log_scalar``) and hands figure files to ``add_artifact``. Steps are
counted from 1: the scalars logged at step ``t`` describe the ``t``-th optimizer step.

With ``budget_grad_evals`` > 0 a run stops at the first step after which the optimizer's
cumulative gradient evaluations reach the budget (``steps`` is then a cap): runs of
optimizers that spend different evaluations per step get the same compute. That last step
is logged, evaluated and checkpointed like the final step. ``budget_flops`` > 0 does the same
with the optimizer's cumulative FLOPs (at most one of the two budgets is set): every step is
charged the FLOPs that ``torch.utils.flop_counter.FlopCounterMode`` counts for it on the run's
model, batch size and precision, measured once per configuration on copies of the game and the
optimizer and cached (:mod:`ali_opt.metrics.flops`), so measuring changes nothing in the run.
The cumulative count is logged as ``flops`` beside ``grad_evals``, checkpointed, and returned.

Evaluations happen every ``eval_every`` steps, or, with ``eval_points`` (fractions of the
budget in [0, 1]: of ``budget_flops`` or ``budget_grad_evals``, whichever is set, else of
``steps``), at the first step whose cumulative FLOPs, evaluations or steps reach each fraction
of the budget, so that runs of any optimizer are evaluated at the same compute. A listed 0 is
an evaluation at step 0, before any update (``grad_evals``, ``flops`` and the clocks are then
logged at step 0 too; the untrained model does not count for ``best_recon_mse``). A step that
crosses several points is one evaluation. The last step of a run is always evaluated. A
resumed run evaluates only the points its checkpoint had not reached. At an evaluation step
that is not a logging step, ``grad_evals``, ``flops`` and the clocks are logged as well, so
that every evaluation can be drawn against compute and time.
"""
from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from scipy.sparse.linalg import ArpackNoConvergence

from optimizers import Averaged, GameOptimizer, build_optimizer

from .ali import ALIBatch, ALIGame
from .runtime.allocator import retain_freed_memory
from .runtime.checkpoint import FILENAME, load_checkpoint, save_checkpoint
from .data import Dataset, load_dataset
from .runtime.devices import resolve_device, synchronize
from .config import TRAJECTORY_KEYS, UNRECORDED_TRAJECTORY_VALUES
from .dotted import flatten
from .errors import ConfigError
from .metrics.reconstruction import averaged_model, reconstruction_mse
from .plots.image_figures import write_image_figures
from .metrics.instrumentation import StepScalars, all_finite
from .models import build_models, data_shape
from .metrics.evaluation import quality_metrics
from .metrics.flops import StepCost, run_step_cost
from .runtime.rng import capture_rng_state, restore_rng_state
from .runtime.stopwatch import Stopwatch
from .runtime.threads import torch_threads
from .spectrum import logged_spectrum
from .stepping import StepLoop, StepSchedule

AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16}
"""The autocast dtype of each of :data:`ali_opt.config.PRECISIONS`."""

SPECTRUM_RESTARTS = 100
"""ARPACK restarts allowed for one logged spectrum (each costs about 2 spectrum_k + 1 Jacobian products)."""

Log = Callable[[str, float, int], None]


@dataclass
class RunParts:
    device: torch.device
    dataset: Dataset
    game: ALIGame
    optimizer: GameOptimizer | Averaged
    batch_generator: torch.Generator


def load_run_data(config: dict, device: torch.device | str = "cpu") -> Dataset:
    """The dataset of a run (downloaded first when missing and allowed), checked against its model.

    A sweep calls it once before starting its cells, so that they neither download at once
    into one folder nor all fail one after another on a wrong ``data.root``."""
    data = config["data"]
    dataset = load_dataset(data["name"], root=data["root"], heldout=data["heldout"], device=device,
                           download=data["download"], verify_checksum=data["verify_checksum"], seed=config["seed"],
                           validation=data.get("validation", 0))
    if tuple(dataset.train.shape[1:]) != data_shape(config["model"]):
        raise ConfigError(f"model={config['model']!r} takes data of shape {data_shape(config['model'])}, but "
                          f"data.name={data['name']!r} holds {tuple(dataset.train.shape[1:])}; pick a matching model")
    return dataset


def build_run(config: dict) -> RunParts:
    """Device, data, models, game and optimizer of a run, seeded from ``config["seed"]``."""
    device = resolve_device(config["device"])
    if device.type == "cpu":
        retain_freed_memory()
    dataset = load_run_data(config, device)
    torch.manual_seed(config["seed"])
    models = build_models(config["model"], width=config["width"], pixel_mean=dataset.pixel_marginals,
                          dropout=config.get("dropout", True))
    game = ALIGame(models.encoder, models.decoder, models.discriminator, models.latent_shape,
                   loss=config["loss"], autocast_dtype=AUTOCAST_DTYPES[config["precision"]],
                   instance_noise=config.get("instance_noise")).to(device)
    optimizer = build_optimizer(game, config["optimizer"])
    batch_generator = torch.Generator(device=device).manual_seed(config["seed"])
    return RunParts(device, dataset, game, optimizer, batch_generator)


def train(config: dict, log: Log, run_dir: Path | None, add_artifact: Callable[[Path], None] = lambda path: None) -> dict:
    """Train ALI as ``config`` says; return the run's result (``diverged_at`` is None or a step)."""
    config = json.loads(json.dumps(config))  # plain dicts and lists, as a checkpoint must hold
    with torch_threads(config["threads"]):
        return _train(config, log, run_dir, add_artifact)


def _train(config: dict, log: Log, run_dir: Path | None, add_artifact: Callable[[Path], None]) -> dict:
    parts = build_run(config)
    game, optimizer, dataset = parts.game, parts.optimizer, parts.dataset
    step_cost = _step_cost(config, parts)  # before the clocks start, on copies: the run is untouched
    if config.get("budget_flops", 0) and not step_cost.flops:
        raise ConfigError(f"budget_flops={config['budget_flops']!r} cannot be reached: FlopCounterMode counts no "
                          f"FLOPs in a step of model={config['model']!r}; use budget_grad_evals instead")
    flops = 0
    start, stopwatch, best_mse, latest_mse = 0, Stopwatch(), float("inf"), float("nan")
    if config["resume"]:
        checkpoint = load_checkpoint(config["resume"])
        _check_resumable(checkpoint["config"], config)
        game.load_state_dict(checkpoint["game"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        restore_rng_state(checkpoint["rng"], parts.batch_generator)
        start, best_mse = checkpoint["step"], checkpoint["best_recon_mse"]
        stopwatch = Stopwatch(*checkpoint["elapsed"])
        flops = checkpoint.get("flops", step_cost.total(start, optimizer.grad_evals))

    latest = {}

    def sample() -> ALIBatch:
        x = dataset.sample(config["batch_size"], parts.batch_generator)
        latest["batch"] = game.draw_batch(x, parts.batch_generator)
        return latest["batch"]

    def checkpoint(step: int) -> None:
        if run_dir is not None:
            save_checkpoint(run_dir / FILENAME, {
                "config": config, "step": step, "game": game.state_dict(), "optimizer": optimizer.state_dict(),
                "rng": capture_rng_state(parts.batch_generator), "elapsed": stopwatch.elapsed(),
                "best_recon_mse": best_mse, "flops": flops,
            })

    def training_x() -> torch.Tensor:
        """The latest training batch's data; before the first step, the data step 1 will draw
        (from a copy of the run's generator, which is not advanced)."""
        if "batch" in latest:
            return latest["batch"].x
        peek = torch.Generator(parts.device)
        peek.set_state(parts.batch_generator.get_state())
        return dataset.sample(config["batch_size"], peek)

    def evaluate(step: int) -> float:
        averaged = contextlib.nullcontext()
        if isinstance(optimizer, Averaged):
            log("recon_mse_live", reconstruction_mse(game, dataset.heldout_batches(config["eval_batch_size"])), step)
            averaged = averaged_model(game, optimizer, dataset, config["eval_batch_size"], config["seed"])
        with averaged:
            mse = reconstruction_mse(game, dataset.heldout_batches(config["eval_batch_size"]))
            log("recon_mse", mse, step)
            log("recon_mse_train", reconstruction_mse(game, [training_x()]), step)
            for name, value in quality_metrics(game, dataset, config, step).items():
                log(name, value, step)
            if config["figures_every_eval"]:
                _write_figures(game, dataset, f"step{step:07d}_", add_artifact)
        return mse

    def log_spectrum(step: int) -> None:
        try:
            scalars = logged_spectrum(game, spectrum_batch, k=config["spectrum_k"], tol=config["spectrum_tol"],
                                      maxiter=SPECTRUM_RESTARTS, seed=config["seed"])  # LM, and LI for the rotation
        except ArpackNoConvergence:
            warnings.warn(f"step {step}: ARPACK did not reach spectrum_tol={config['spectrum_tol']} in "
                          f"{SPECTRUM_RESTARTS} restarts; no spectrum logged at this step", stacklevel=1)
            return
        for name, value in scalars.items():
            log(name, value, step)

    if config["spectrum_every"]:  # one fixed batch, drawn from a stream of its own (not the run's batches)
        spectrum_generator = torch.Generator(parts.device).manual_seed(config["seed"] + 1)
        spectrum_batch = game.draw_batch(dataset.sample(config["batch_size"], spectrum_generator), spectrum_generator)
    scalars_of = StepScalars(optimizer.parameter_names, optimizer)  # with a solver: its iterations and residual
    first_bad_step = torch.tensor(-1, device=parts.device)
    diverged_at, step = None, start
    budget, budget_flops = config.get("budget_grad_evals", 0), config.get("budget_flops", 0)
    grad_evals = optimizer.grad_evals
    schedule = StepSchedule(config["steps"], log_every=config["log_every"], eval_every=config["eval_every"],
                            eval_points=config.get("eval_points"), checkpoint_every=config["checkpoint_every"],
                            budget_grad_evals=budget, budget_flops=budget_flops,
                            also_every={"spectrum": config["spectrum_every"]})

    def log_compute(step: int, wall: float, cpu: float) -> None:
        """Place an evaluation in compute and time."""
        for name, value in {"grad_evals": grad_evals, "flops": flops, "wall_time": wall, "cpu_time": cpu}.items():
            log(name, value, step)

    def stopped(step: int) -> str:
        return f"stopped by a signal after step {step}; resume with resume={run_dir}"

    # resumed: the points up to the checkpoint are done; at step 0, eval_points lists 0
    if schedule.begin(start, grad_evals=grad_evals, flops=flops):
        wall, cpu = stopwatch.elapsed()
        with stopwatch.paused():
            log_compute(0, wall, cpu)
            latest_mse = evaluate(0)  # the untrained model: not a candidate for best_recon_mse
    progress = {"total": None if budget_flops else config["steps"], "desc": config["optimizer"]["name"],
                "unit": "step", "disable": not config["progress"],
                "mininterval": 1.0 if sys.stderr.isatty() else 30.0, "file": sys.stderr}
    with StepLoop(schedule, start, progress=progress, signals=True, stop_message=stopped) as loop:
        for step in loop:
            game.set_progress(step)  # instance noise's sigma_t for the batches this step draws
            report = optimizer.step(sample)
            flops += step_cost(optimizer.grad_evals - grad_evals)
            grad_evals = optimizer.grad_evals
            first_bad_step = torch.where((first_bad_step < 0) & ~all_finite(report, optimizer.params), step,
                                         first_bad_step)
            actions = loop.done(grad_evals=grad_evals, flops=flops)
            if not actions:
                continue
            synchronize(parts.device)
            wall, cpu = stopwatch.elapsed()
            with stopwatch.paused():
                if first_bad_step.item() >= 0:
                    diverged_at = int(first_bad_step)
                    break
                if actions.log:
                    scalars = scalars_of(report)
                    for name, value in {**scalars, "flops": flops, "wall_time": wall, "cpu_time": cpu}.items():
                        log(name, value, step)
                    loop.bar.set_postfix(loss_g=f"{scalars['loss_g']:.3f}", loss_d=f"{scalars['loss_d']:.3f}",
                                         recon_mse=f"{latest_mse:.4f}", refresh=False)
                if "spectrum" in actions.also:
                    log_spectrum(step)
                if actions.evaluate:
                    if not actions.log:
                        log_compute(step, wall, cpu)
                    latest_mse = evaluate(step)
                    best_mse = min(best_mse, latest_mse)
                if actions.save:
                    checkpoint(step)
    wall, cpu = stopwatch.elapsed()  # training time only: the final figures are not part of it
    if diverged_at is None:
        _write_figures(game, dataset, "", add_artifact)
    return {"steps": step if diverged_at is None else diverged_at - 1, "diverged_at": diverged_at,
            "best_recon_mse": best_mse if best_mse < float("inf") else None, "grad_evals": optimizer.grad_evals,
            "budget_grad_evals": budget or None, "flops": flops, "budget_flops": budget_flops or None,
            "wall_time": wall, "cpu_time": cpu}


def _step_cost(config: dict, parts: RunParts) -> StepCost:
    """FLOPs per step of the run (:func:`ali_opt.metrics.flops.run_step_cost`): counted on copies of
    its game and optimizer, on batches drawn from a generator of their own."""
    generator = torch.Generator(parts.device).manual_seed(config["seed"] + 2)

    def sample() -> ALIBatch:
        return parts.game.draw_batch(parts.dataset.sample(config["batch_size"], generator), generator)

    return run_step_cost(config, parts.game, parts.optimizer, sample, tuple(parts.dataset.train.shape[1:]))


def _write_figures(game: ALIGame, dataset: Dataset, prefix: str, add_artifact: Callable[[Path], None]) -> None:
    """Image figures handed to ``add_artifact`` (observers copy them; the temporary files go)."""
    if dataset.pixel_mean is None:
        return
    heldout = next(dataset.heldout_batches(100), None)
    if heldout is None:
        heldout = dataset.sample(100, torch.Generator(dataset.train.device).manual_seed(0))
    with tempfile.TemporaryDirectory() as folder:
        for path in write_image_figures(game, heldout, Path(folder), prefix):
            add_artifact(path)


def _check_resumable(saved: dict, config: dict) -> None:
    saved_flat = {**UNRECORDED_TRAJECTORY_VALUES, **flatten(saved)}
    flat = {**UNRECORDED_TRAJECTORY_VALUES, **flatten(config)}
    for key in TRAJECTORY_KEYS:
        if saved_flat.get(key) != flat.get(key):
            raise ConfigError(f"resume={config['resume']!r}: the checkpoint was trained with {key}={saved_flat.get(key)!r} "
                              f"but this run has {key}={flat.get(key)!r}; a resumed run keeps {', '.join(TRAJECTORY_KEYS)}")

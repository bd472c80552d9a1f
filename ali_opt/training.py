"""The ALI training loop: steps, logging, evaluation, checkpoints, divergence and resume.

One call of :func:`train` is one run. It logs through a ``log(name, value, step)``
callable (Sacred's ``log_scalar``) and hands figure files to ``add_artifact``. Steps are
counted from 1: the scalars logged at step ``t`` describe the ``t``-th optimizer step.

With ``budget_grad_evals`` > 0 a run stops at the first step after which the optimizer's
cumulative gradient evaluations reach the budget (``steps`` is then a cap): runs of
optimizers that spend different evaluations per step get the same compute. That last step
is logged, evaluated and checkpointed like the final step.
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
from tqdm import tqdm

from optimizers import Averaged, GameOptimizer, build_optimizer

from .ali import ALIBatch, ALIGame
from .runtime.allocator import retain_freed_memory
from .runtime.checkpoint import FILENAME, load_checkpoint, save_checkpoint
from .data import Dataset, load_dataset
from .runtime.devices import resolve_device, synchronize
from .errors import ConfigError
from .evaluation import averaged_model, reconstruction_mse, write_image_figures
from .instrumentation import StepScalars, all_finite
from .runtime.interrupts import stop_requests
from .models import build_models, data_shape
from .quality import quality_metrics
from .runtime.rng import capture_rng_state, restore_rng_state
from .runtime.stopwatch import Stopwatch
from .runtime.threads import torch_threads
from .spectrum import game_eigenvalues, spectrum_scalars

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}

SPECTRUM_RESTARTS = 100
"""ARPACK restarts allowed for one logged spectrum (each costs about 2 spectrum_k + 1 Jacobian products)."""

TRAJECTORY_KEYS = ("model", "width", "loss", "data.name", "optimizer", "batch_size", "precision", "seed")
"""Config keys a resumed run must share with the run it continues."""

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
    models = build_models(config["model"], width=config["width"], pixel_mean=dataset.pixel_marginals)
    game = ALIGame(models.encoder, models.decoder, models.discriminator, models.latent_shape,
                   loss=config["loss"], autocast_dtype=PRECISIONS[config["precision"]]).to(device)
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
    start, stopwatch, best_mse, latest_mse = 0, Stopwatch(), float("inf"), float("nan")
    if config["resume"]:
        checkpoint = load_checkpoint(config["resume"])
        _check_resumable(checkpoint["config"], config)
        game.load_state_dict(checkpoint["game"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        restore_rng_state(checkpoint["rng"], parts.batch_generator)
        start, best_mse = checkpoint["step"], checkpoint["best_recon_mse"]
        stopwatch = Stopwatch(*checkpoint["elapsed"])

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
                "best_recon_mse": best_mse,
            })

    def evaluate(step: int) -> float:
        averaged = contextlib.nullcontext()
        if isinstance(optimizer, Averaged):
            log("recon_mse_live", reconstruction_mse(game, dataset.heldout_batches(config["eval_batch_size"])), step)
            averaged = averaged_model(game, optimizer, dataset, config["eval_batch_size"], config["seed"])
        with averaged:
            mse = reconstruction_mse(game, dataset.heldout_batches(config["eval_batch_size"]))
            log("recon_mse", mse, step)
            log("recon_mse_train", reconstruction_mse(game, [latest["batch"].x]), step)
            for name, value in quality_metrics(game, dataset, config).items():
                log(name, value, step)
            if config["figures_every_eval"]:
                _write_figures(game, dataset, f"step{step:07d}_", add_artifact)
        return mse

    def log_spectrum(step: int) -> None:
        try:
            eigenvalues = game_eigenvalues(game, spectrum_batch, k=config["spectrum_k"], tol=config["spectrum_tol"],
                                           maxiter=SPECTRUM_RESTARTS, seed=config["seed"])
        except ArpackNoConvergence:
            warnings.warn(f"step {step}: ARPACK did not reach spectrum_tol={config['spectrum_tol']} in "
                          f"{SPECTRUM_RESTARTS} restarts; no spectrum logged at this step", stacklevel=1)
            return
        for name, value in spectrum_scalars(eigenvalues).items():
            log(name, value, step)

    if config["spectrum_every"]:  # one fixed batch, drawn from a stream of its own (not the run's batches)
        spectrum_generator = torch.Generator(parts.device).manual_seed(config["seed"] + 1)
        spectrum_batch = game.draw_batch(dataset.sample(config["batch_size"], spectrum_generator), spectrum_generator)
    scalars_of = StepScalars(optimizer.parameter_names)
    first_bad_step = torch.tensor(-1, device=parts.device)
    diverged_at, step = None, start
    budget = config.get("budget_grad_evals", 0)
    progress = tqdm(total=config["steps"], initial=start, desc=config["optimizer"]["name"], unit="step",
                    disable=not config["progress"], mininterval=1.0 if sys.stderr.isatty() else 30.0, file=sys.stderr)
    with progress, stop_requests() as stop_requested:
        for step in range(start + 1, config["steps"] + 1):
            report = optimizer.step(sample)
            first_bad_step = torch.where((first_bad_step < 0) & ~all_finite(report, optimizer.params), step,
                                         first_bad_step)
            progress.update()
            last = step == config["steps"] or 0 < budget <= optimizer.grad_evals
            logging = step % config["log_every"] == 0 or last
            evaluating = step % config["eval_every"] == 0 or last
            stopping = stop_requested()  # read once: a signal arriving later is seen at the next step
            saving = step % config["checkpoint_every"] == 0 or last or stopping
            spectrum = config["spectrum_every"] > 0 and step % config["spectrum_every"] == 0
            if not (logging or evaluating or saving or spectrum):
                continue
            synchronize(parts.device)
            wall, cpu = stopwatch.elapsed()
            with stopwatch.paused():
                if first_bad_step.item() >= 0:
                    diverged_at = int(first_bad_step)
                    break
                if logging:
                    scalars = scalars_of(report)
                    for name, value in {**scalars, "wall_time": wall, "cpu_time": cpu}.items():
                        log(name, value, step)
                    progress.set_postfix(loss_g=f"{scalars['loss_g']:.3f}", loss_d=f"{scalars['loss_d']:.3f}",
                                         recon_mse=f"{latest_mse:.4f}", refresh=False)
                if spectrum:
                    log_spectrum(step)
                if evaluating:
                    latest_mse = evaluate(step)
                    best_mse = min(best_mse, latest_mse)
                if saving:
                    checkpoint(step)
            if last:
                break
            if stopping:
                raise KeyboardInterrupt(f"stopped by a signal after step {step}; resume with resume={run_dir}")
    wall, cpu = stopwatch.elapsed()  # training time only: the final figures are not part of it
    if diverged_at is None:
        _write_figures(game, dataset, "", add_artifact)
    return {"steps": step if diverged_at is None else diverged_at - 1, "diverged_at": diverged_at,
            "best_recon_mse": best_mse if best_mse < float("inf") else None, "grad_evals": optimizer.grad_evals,
            "budget_grad_evals": budget or None,
            "wall_time": wall, "cpu_time": cpu}


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


def _flatten(config: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict) and key != "optimizer":
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _check_resumable(saved: dict, config: dict) -> None:
    saved_flat, flat = _flatten(saved), _flatten(config)
    for key in TRAJECTORY_KEYS:
        if saved_flat.get(key) != flat.get(key):
            raise ConfigError(f"resume={config['resume']!r}: the checkpoint was trained with {key}={saved_flat.get(key)!r} "
                              f"but this run has {key}={flat.get(key)!r}; a resumed run keeps {', '.join(TRAJECTORY_KEYS)}")

"""The ALI training loop: steps, logging, evaluation, checkpoints, divergence and resume.

One call of :func:`train` is one run, a :class:`TrainingRun` holding its state between steps. It
logs through a ``log(name, value, step)`` callable (Sacred's ``log_scalar``) and hands figure files to
``add_artifact``. Steps are counted from 1: the scalars logged at step ``t`` describe the ``t``-th
optimizer step.

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

from optimizers import Averaged, GameOptimizer, StepReport, build_optimizer, validate_config

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
from .stepping import Actions, StepLoop, StepSchedule

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
        return TrainingRun(config, log, run_dir, add_artifact).run()


class TrainingRun:
    """One training run: its parts (:class:`RunParts`), its schedule, and its state between steps.

    The state is what a checkpoint holds: ``step`` (the steps taken), ``flops`` (their cumulative
    FLOPs), ``best_mse`` (the lowest held-out reconstruction error evaluated after a step), the
    clocks (``stopwatch``), and the game's, the optimizer's and the batch generator's own states.
    ``grad_evals`` is the optimizer's count of gradient evaluations at the last step seen, so that each
    step is charged the FLOPs of the evaluations it made. Built, a run starts at step 0, or where the
    checkpoint named by ``config["resume"]`` stopped (:meth:`resume`).
    """

    def __init__(self, config: dict, log: Log, run_dir: Path | None, add_artifact: Callable[[Path], None]):
        self.config, self.log, self.run_dir, self.add_artifact = config, log, run_dir, add_artifact
        self.parts = build_run(config)
        self.game, self.optimizer, self.dataset = self.parts.game, self.parts.optimizer, self.parts.dataset
        self.step_cost = _step_cost(config, self.parts)  # before the clocks start, on copies: the run is untouched
        if config.get("budget_flops", 0) and not self.step_cost.flops:
            raise ConfigError(f"budget_flops={config['budget_flops']!r} cannot be reached: FlopCounterMode counts no "
                              f"FLOPs in a step of model={config['model']!r}; use budget_grad_evals instead")
        self.step, self.flops, self.stopwatch = 0, 0, Stopwatch()
        self.best_mse, self.latest_mse = float("inf"), float("nan")
        self.latest_batch: ALIBatch | None = None
        if config["resume"]:
            self.resume(config["resume"])
        self.grad_evals = self.optimizer.grad_evals
        self.spectrum_batch = self._spectrum_batch() if config["spectrum_every"] else None
        self.scalars_of = StepScalars(self.optimizer.parameter_names, self.optimizer)  # with a solver: its iterations

    def resume(self, path: str) -> None:
        """Continue from the checkpoint at ``path``, bit for bit: the game, the optimizer, the batch
        generator, the step, the clocks, ``best_mse`` and ``flops``."""
        checkpoint = load_checkpoint(path)
        check_resumable(checkpoint["config"], self.config, self.game.players)
        self.game.load_state_dict(checkpoint["game"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        restore_rng_state(checkpoint["rng"], self.parts.batch_generator)
        self.step, self.best_mse = checkpoint["step"], checkpoint["best_recon_mse"]
        self.stopwatch = Stopwatch(*checkpoint["elapsed"])
        self.flops = checkpoint.get("flops", self.step_cost.total(self.step, self.optimizer.grad_evals))

    def checkpoint(self) -> None:
        """Save the run's state after step ``step`` (nothing without a run folder)."""
        if self.run_dir is not None:
            save_checkpoint(self.run_dir / FILENAME, {
                "config": self.config, "step": self.step, "game": self.game.state_dict(),
                "optimizer": self.optimizer.state_dict(), "rng": capture_rng_state(self.parts.batch_generator),
                "elapsed": self.stopwatch.elapsed(), "best_recon_mse": self.best_mse, "flops": self.flops,
            })

    def sample(self) -> ALIBatch:
        """A fresh training batch from the run's generator (what the optimizer steps on)."""
        x = self.dataset.sample(self.config["batch_size"], self.parts.batch_generator)
        self.latest_batch = self.game.draw_batch(x, self.parts.batch_generator)
        return self.latest_batch

    def training_x(self) -> torch.Tensor:
        """The latest training batch's data; before the first step, the data step 1 will draw
        (from a copy of the run's generator, which is not advanced)."""
        if self.latest_batch is not None:
            return self.latest_batch.x
        peek = torch.Generator(self.parts.device)
        peek.set_state(self.parts.batch_generator.get_state())
        return self.dataset.sample(self.config["batch_size"], peek)

    def evaluate(self) -> float:
        """Log the evaluation at step ``step`` (reconstruction errors, :func:`quality_metrics`, figures if
        asked), of the averaged parameters for an averaging optimizer; return the held-out error."""
        config, game, step = self.config, self.game, self.step
        averaged = contextlib.nullcontext()
        if isinstance(self.optimizer, Averaged):
            self.log("recon_mse_live", reconstruction_mse(game, self.dataset.heldout_batches(config["eval_batch_size"])),
                     step)
            averaged = averaged_model(game, self.optimizer, self.dataset, config["eval_batch_size"], config["seed"])
        with averaged:
            mse = reconstruction_mse(game, self.dataset.heldout_batches(config["eval_batch_size"]))
            self.log("recon_mse", mse, step)
            self.log("recon_mse_train", reconstruction_mse(game, [self.training_x()]), step)
            for name, value in quality_metrics(game, self.dataset, config, step).items():
                self.log(name, value, step)
            if config["figures_every_eval"]:
                _write_figures(game, self.dataset, f"step{step:07d}_", self.add_artifact)
        return mse

    def _spectrum_batch(self) -> ALIBatch:
        """One fixed batch for the logged spectra, from a stream of its own (not the run's batches)."""
        generator = torch.Generator(self.parts.device).manual_seed(self.config["seed"] + 1)
        return self.game.draw_batch(self.dataset.sample(self.config["batch_size"], generator), generator)

    def log_spectrum(self) -> None:
        """Log the Jacobian's spectrum at step ``step`` (:func:`logged_spectrum`: LM, and LI for the rotation)."""
        config = self.config
        try:
            scalars = logged_spectrum(self.game, self.spectrum_batch, k=config["spectrum_k"],
                                      tol=config["spectrum_tol"], maxiter=SPECTRUM_RESTARTS, seed=config["seed"])
        except ArpackNoConvergence:
            warnings.warn(f"step {self.step}: ARPACK did not reach spectrum_tol={config['spectrum_tol']} in "
                          f"{SPECTRUM_RESTARTS} restarts; no spectrum logged at this step", stacklevel=1)
            return
        for name, value in scalars.items():
            self.log(name, value, self.step)

    def log_compute(self, wall: float, cpu: float) -> None:
        """Place the evaluation at step ``step`` in compute and time."""
        for name, value in {"grad_evals": self.grad_evals, "flops": self.flops, "wall_time": wall,
                            "cpu_time": cpu}.items():
            self.log(name, value, self.step)

    def schedule(self) -> StepSchedule:
        config = self.config
        return StepSchedule(config["steps"], log_every=config["log_every"], eval_every=config["eval_every"],
                            eval_points=config.get("eval_points"), checkpoint_every=config["checkpoint_every"],
                            budget_grad_evals=config.get("budget_grad_evals", 0),
                            budget_flops=config.get("budget_flops", 0), periodic={"spectrum": config["spectrum_every"]})

    def run(self) -> dict:
        """Take the steps the schedule says, from ``step`` on; return the run's result."""
        config, schedule = self.config, self.schedule()
        # resumed: the points up to the checkpoint are done; at step 0, eval_points lists 0
        if schedule.begin(self.step, grad_evals=self.grad_evals, flops=self.flops):
            wall, cpu = self.stopwatch.elapsed()
            with self.stopwatch.paused():
                self.log_compute(wall, cpu)
                self.latest_mse = self.evaluate()  # the untrained model: not a candidate for best_mse
        progress = {"total": None if config.get("budget_flops", 0) else config["steps"],
                    "desc": config["optimizer"]["name"], "unit": "step", "disable": not config["progress"],
                    "mininterval": 1.0 if sys.stderr.isatty() else 30.0, "file": sys.stderr}
        first_bad_step = torch.tensor(-1, device=self.parts.device)
        diverged_at = None
        with StepLoop(schedule, self.step, progress=progress, signals=True, stop_message=self._stopped) as loop:
            for self.step in loop:
                self.game.set_progress(self.step)  # instance noise's sigma_t for the batches this step draws
                report = self.optimizer.step(self.sample)
                self.flops += self.step_cost(self.optimizer.grad_evals - self.grad_evals)
                self.grad_evals = self.optimizer.grad_evals
                first_bad_step = torch.where((first_bad_step < 0) & ~all_finite(report, self.optimizer.params),
                                             self.step, first_bad_step)
                actions = loop.done(grad_evals=self.grad_evals, flops=self.flops)
                if not actions:
                    continue
                synchronize(self.parts.device)
                if first_bad_step.item() >= 0:  # checked where the step's actions sync the device anyway
                    diverged_at = int(first_bad_step)
                    break
                self._act(actions, report, loop.bar)
        return self._result(diverged_at)

    def _act(self, actions: Actions, report: StepReport, bar) -> None:
        """Do what the schedule says at step ``step`` (the clocks paused): log, the spectrum, evaluate, save."""
        wall, cpu = self.stopwatch.elapsed()
        with self.stopwatch.paused():
            if actions.log:
                scalars = self.scalars_of(report)
                for name, value in {**scalars, "flops": self.flops, "wall_time": wall, "cpu_time": cpu}.items():
                    self.log(name, value, self.step)
                bar.set_postfix(loss_g=f"{scalars['loss_g']:.3f}", loss_d=f"{scalars['loss_d']:.3f}",
                                recon_mse=f"{self.latest_mse:.4f}", refresh=False)
            if "spectrum" in actions.periodic:
                self.log_spectrum()
            if actions.evaluate:
                if not actions.log:
                    self.log_compute(wall, cpu)
                self.latest_mse = self.evaluate()
                self.best_mse = min(self.best_mse, self.latest_mse)
            if actions.save:
                self.checkpoint()

    def _result(self, diverged_at: int | None) -> dict:
        """The run's result; the final figures when it did not diverge (not counted in its time)."""
        wall, cpu = self.stopwatch.elapsed()
        if diverged_at is None:
            _write_figures(self.game, self.dataset, "", self.add_artifact)
        budget, budget_flops = self.config.get("budget_grad_evals", 0), self.config.get("budget_flops", 0)
        return {"steps": self.step if diverged_at is None else diverged_at - 1, "diverged_at": diverged_at,
                "best_recon_mse": self.best_mse if self.best_mse < float("inf") else None,
                "grad_evals": self.optimizer.grad_evals, "budget_grad_evals": budget or None, "flops": self.flops,
                "budget_flops": budget_flops or None, "wall_time": wall, "cpu_time": cpu}

    def _stopped(self, step: int) -> str:
        return f"stopped by a signal after step {step}; resume with resume={self.run_dir}"


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


def check_resumable(saved: dict, config: dict, players: tuple[str, ...]) -> None:
    """Raise ConfigError unless a run with ``config`` may continue a checkpoint saved with ``saved``: the
    two share :data:`~ali_opt.config.TRAJECTORY_KEYS`, the optimizer as it is built (its own options,
    defaults filled in: keys that other optimizers take, or that were added since, do not matter)."""
    saved_flat = {**UNRECORDED_TRAJECTORY_VALUES, **flatten(saved)}
    flat = {**UNRECORDED_TRAJECTORY_VALUES, **flatten(config)}
    saved_flat["optimizer"], flat["optimizer"] = (validate_config(found["optimizer"], players) for found in (saved, config))
    for key in TRAJECTORY_KEYS:
        if saved_flat.get(key) != flat.get(key):
            raise ConfigError(f"resume={config['resume']!r}: the checkpoint was trained with {key}={saved_flat.get(key)!r} "
                              f"but this run has {key}={flat.get(key)!r}; a resumed run keeps {', '.join(TRAJECTORY_KEYS)}")

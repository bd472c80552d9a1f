"""The mixture study with ``members=N``: each comparison entry trains N seeds as one vmapped
:class:`~ali_opt.ensemble.Ensemble`, and ``benchmark=grid25`` reports the ALI paper's table.

Member i of an entry is the run that :func:`ali_opt.training.train` would train with seed
``seed + i``: same initial networks, same batch generator, and from it the same data indices,
prior draws z, encoder noise epsilon and dropout seed (so the same dropout masks, reused by
every evaluation of a batch). One difference: every member draws from the training set of seed
``seed`` (a separate run of the mixtures draws its own 100,000 points from its seed). A member
that diverges is frozen and reported with its ``diverged_at`` (:mod:`ali_opt.ensemble_training`).

Each entry writes ``<label>.checkpoint.pt`` into the comparison's run folder every
``checkpoint_every`` steps and at the end; ``resume_ensembles=<that folder>`` continues every
entry bit for bit from its checkpoint (finished entries are only evaluated; entries without a
checkpoint there start afresh). ``steps`` may differ from the first run's: training continues to it.
"""
from __future__ import annotations

import statistics
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from ali_opt.ali import ALIBatch, ALIGame
from ali_opt.runtime.checkpoint import load_checkpoint
from ali_opt.data import Dataset, load_dataset
from ali_opt.data.mixtures import mixture_centers, mixture_std
from ali_opt.ensemble import Ensemble
from ali_opt.ensemble_training import EnsembleTraining, member_scalars
from ali_opt.errors import ConfigError
from ali_opt.metrics.reconstruction import evaluation_mode
from ali_opt.metrics.mode_coverage import high_quality_fraction, modes_by_responsibility, modes_covered
from ali_opt.models import build_models
from ali_opt.plots.ensembles import MemberCurves, plot_member_bands
from ali_opt.plots.mixture import MixtureModel, plot_mixture
from ali_opt.runtime.sacred_setup import file_observer_folder
from ali_opt.runtime.threads import torch_threads
from ali_opt.stepping import StepLoop, StepSchedule
from optimizers import build_optimizer

from .comparison import training_config

PAPER_SAMPLES = 10_000
"""Generated points per member that modes are counted from (the paper's protocol)."""

PAPER_ROWS = {"ALI (paper)": (13.4, 5.8, 8, 25), "GAN (paper)": (10.4, 9.2, 1, 22)}
"""Dumoulin et al. 2016, Section 5: modes covered of 25, mean, std, min, max over 10 runs."""

CURVE_METRICS = ("loss_d", "loss_g", "grad_norm_d", "grad_norm_g")


def check_members(config: dict) -> None:
    """Raise :class:`ConfigError` when a per-member ``lr`` list does not have ``members`` entries."""
    for index, entry in enumerate([{}] + list(config["comparison"])):
        lr = {**config["optimizer"], **entry}["lr"]
        for player_lr in (lr.values() if isinstance(lr, dict) else [lr]):
            if isinstance(player_lr, (list, tuple)) and len(player_lr) != config["members"]:
                key = "optimizer.lr" if index == 0 else f"comparison[{index - 1}].lr"
                raise ConfigError(f"{key}={lr!r} is not valid with members={config['members']}; give one step size "
                                  "per member, or one number")


def entries(config: dict) -> list[tuple[str, dict]]:
    """(label, training config) of every entry: the comparison, or the one chosen optimizer."""
    chosen = [{}] if config["optimizer"]["name"] else config["comparison"]
    found = []
    for entry in chosen:
        training = training_config(config, entry, config["seed"])
        name = training["optimizer"]["name"]
        label = name if name not in [label for label, _ in found] else f"{name} #{len(found)}"
        found.append((label, training))
    return found


def build_ensemble(training: dict, dataset: Dataset, members: int) -> EnsembleTraining:
    """Member i: the networks a training run builds with seed ``seed + i``, batches from a
    generator seeded with ``seed + i``; all of them on ``dataset``."""
    games = []
    for index in range(members):
        torch.manual_seed(training["seed"] + index)
        models = build_models(training["model"], width=training["width"], dropout=training.get("dropout", True))
        games.append(ALIGame(models.encoder, models.decoder, models.discriminator, models.latent_shape,
                             loss=training["loss"]))
    ensemble = Ensemble(games, batch_seeds=[training["seed"] + index for index in range(members)],
                        draw=partial(draw_member_batch, games[0], dataset, training["batch_size"]))
    torch.manual_seed(training["seed"])  # draws inside the members' forward passes, if a batch left any
    return EnsembleTraining(ensemble, build_optimizer(ensemble, training["optimizer"]))


def draw_member_batch(game: ALIGame, dataset: Dataset, batch_size: int, generator: torch.Generator) -> ALIBatch:
    """What a training run draws from its batch generator: data, then epsilon, z and the dropout
    seed (the ensemble gathers the members' seeds, and member i draws its masks from its own)."""
    return game.draw_batch(dataset.sample(batch_size, generator), generator)


def train_entry(label: str, training: dict, dataset: Dataset, members: int, run_dir: Path | None,
                resume: str, progress: bool) -> tuple[EnsembleTraining, MemberCurves, float]:
    """Train (or continue) one entry; its training loop, logged curves and training seconds."""
    loop = build_ensemble(training, dataset, members)
    logged_steps, logged = [], {metric: [] for metric in CURVE_METRICS}
    seconds = 0.0
    if resume and (Path(resume) / f"{label}.checkpoint.pt").is_file():
        saved = load_checkpoint(Path(resume) / f"{label}.checkpoint.pt", key="resume_ensembles")
        loop.restore(saved)
        logged_steps, logged, seconds = saved["logged_steps"], saved["logged"], saved["seconds"]

    def checkpoint() -> None:
        if run_dir is not None:
            loop.checkpoint(run_dir / f"{label}.checkpoint.pt",
                            {"logged_steps": logged_steps, "logged": logged, "seconds": seconds})

    schedule = StepSchedule(training["steps"], log_every=training["log_every"],
                            checkpoint_every=training["checkpoint_every"])
    start = time.perf_counter()
    with StepLoop(schedule, loop.steps_done, progress={"desc": label, "disable": not progress,
                                                       "mininterval": 30.0}) as stepping:
        for step in stepping:
            report = loop.step()
            actions = stepping.done()
            if actions.log:
                scalars = member_scalars(report, loop.ensemble)
                frozen = ~loop.alive
                for metric in CURVE_METRICS:
                    logged[metric].append([float("nan") if frozen[i] else value
                                           for i, value in enumerate(scalars[metric])])
                logged_steps.append(step)
            if actions.save:
                seconds += time.perf_counter() - start
                start = time.perf_counter()
                checkpoint()
    curves = MemberCurves(np.asarray(logged_steps), {metric: np.asarray(values) for metric, values in logged.items()})
    return loop, curves, seconds


@torch.no_grad()
def evaluate_members(loop: EnsembleTraining, dataset: Dataset, kind: str, label: str) -> list[dict]:
    """Per member: the paper's count, the stricter count and the high-quality fraction of
    :data:`PAPER_SAMPLES` samples, its ``diverged_at``, and the figure's view of it."""
    centers, std = mixture_centers(kind), mixture_std(kind)
    found = []
    for index in range(loop.ensemble.members):
        game = loop.ensemble.member(index)
        generator = torch.Generator().manual_seed(index)
        with evaluation_mode(game):
            samples = game.generate(torch.randn((PAPER_SAMPLES, *game.latent_shape), generator=generator))
            heldout = dataset.heldout[:300]
            reconstructions = game.reconstruct(heldout)
        paper, _ = modes_by_responsibility(samples, centers)
        strict, _ = modes_covered(samples, centers, std)
        quality = high_quality_fraction(samples, centers, std)
        found.append({"member": index, "paper_modes": paper, "strict_modes": strict, "high_quality": quality,
                      "diverged_at": loop.diverged_at[index],
                      "view": MixtureModel(f"{label} #{index}: paper's count {paper}", samples[:2000],
                                           heldout, reconstructions, strict, quality)})
    return found


def run_ensembles(config: dict, sacred_run, log) -> dict:
    """Train every entry as an ensemble of ``members``; figures and the table into the run folder."""
    run_dir = file_observer_folder(sacred_run)
    kind = config["data"]["name"]
    dataset = load_dataset(kind, root=None, heldout=config["data"]["heldout"], seed=config["seed"])
    rows, views, curves = [], [], {}
    with torch_threads(config["threads"]):
        for label, training in entries(config):
            log.info("training %s: %d members, %d steps", label, config["members"], training["steps"])
            loop, curves[label], seconds = train_entry(label, training, dataset, config["members"], run_dir,
                                                       config["resume_ensembles"], config["progress"])
            members = evaluate_members(loop, dataset, kind, label)
            views.append(median_member(members)["view"])
            rows.append(summary_row(label, members, seconds, loop))
            for member in members:
                for key in ("paper_modes", "strict_modes", "high_quality"):
                    sacred_run.log_scalar(f"{label}.{key}", member[key], member["member"])
    figures = []
    if run_dir is not None:
        figures.append(plot_member_bands(curves, CURVE_METRICS, run_dir / "ensemble_curves.png",
                                         log_scale=("grad_norm_d", "grad_norm_g"),
                                         title=f"{config['members']} members each: median and min-max band"))
        data = dataset.train[:2000]
        figures += plot_mixture(views, data, mixture_centers(kind), run_dir / "mixture_median_members", config["pdf"])
        table = run_dir / "modes_table.md"
        table.write_text(markdown_table(rows, config) + "\n")
        figures.append(table)
    for path in figures:
        sacred_run.add_artifact(str(path))
    return {"rows": rows, "figures": [str(path) for path in figures]}


def median_member(members: list[dict]) -> dict:
    """The member whose paper count is the (lower) median, ties broken by the stricter count."""
    ordered = sorted(members, key=lambda member: (member["paper_modes"], member["strict_modes"]))
    return ordered[(len(ordered) - 1) // 2]


def summary_row(label: str, members: list[dict], seconds: float, loop: EnsembleTraining) -> dict:
    """Mean, standard deviation (n - 1), min and max over members of each count; divergences; cost."""
    row = {"optimizer": label, "members": len(members)}
    for key in ("paper_modes", "strict_modes", "high_quality"):
        values = [member[key] for member in members]
        row[key] = {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                    "min": min(values), "max": max(values), "values": values}
    row["diverged"] = sum(member["diverged_at"] is not None for member in members)
    row["train_seconds"] = seconds
    member_evals = loop.optimizer.member_grad_evals  # each member's own count (a solver stops each on its own)
    row["grad_evals_per_member"] = (list(member_evals) if member_evals is not None
                                    else [loop.optimizer.grad_evals] * len(members))
    return row


def markdown_table(rows: list[dict], config: dict) -> str:
    """The paper's table with this run's rows under its two rows; its first lines name the setting."""
    optimizer = config["optimizer"]
    lines = [f"Setting: benchmark={config['benchmark'] or '(none)'}; optimizer lr {optimizer['lr']}, betas "
             f"{list(optimizer['betas'])} (where an entry does not change them), dropout "
             f"{'on' if config.get('dropout', True) else 'off'}.",
             "",
             f"{config['members']} members per optimizer, {config['steps']} steps of batch {config['batch_size']}, "
             f"model {config['model']} at width {config['width']}, {PAPER_SAMPLES} samples per member.",
             "",
             "| optimizer | modes (paper's count) mean ± std | min | max | modes within 3σ (≥10% of fair share) "
             "mean ± std | min | max | high-quality samples | diverged | training time |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for label, (mean, std, low, high) in PAPER_ROWS.items():
        lines.append(f"| {label} | {mean} ± {std} | {low} | {high} | not reported | | | not reported | | 200 epochs |")
    for row in rows:
        paper, strict, quality = row["paper_modes"], row["strict_modes"], row["high_quality"]
        lines.append(f"| {row['optimizer']} | {paper['mean']:.1f} ± {paper['std']:.1f} | {paper['min']} | "
                     f"{paper['max']} | {strict['mean']:.1f} ± {strict['std']:.1f} | {strict['min']} | "
                     f"{strict['max']} | "
                     f"{100 * quality['mean']:.1f}% ± {100 * quality['std']:.1f}% | {row['diverged']} of "
                     f"{row['members']} | {row['train_seconds'] / 60:.1f} min |")
    return "\n".join(lines)

"""Game optimizers on toy games with known equilibria: one Sacred run per call.

    python -m studies.toy_games with game=bilinear optimizer.name=extragradient
    python -m studies.toy_games with game=dirac 'game_options={"loss": "minimax"}' optimistic
    python -m studies.toy_games with game=mixture 'game_options={"kind": "grid"}' extra_adam optimizer.lr=1e-3
    python -m studies.toy_games compare with steps=500 optimizer.lr=0.2
    python -m studies.toy_games with game=mixture optimizer.name=extra_adam optimizer.lr=1e-3 members=16

The default command trains ``game`` (bilinear, quadratic, dirac or mixture, see
:mod:`ali_opt.toy_games`; ``game_options`` holds its options) with ``optimizer`` for
``steps`` steps and returns ``{"distance", "steps", "grad_evals"}`` (plus
``distance_average`` with iterate averaging). Steps count from 1; every ``log_every``
steps and after the last it logs at step ``t``:

- ``distance``: distance to the equilibrium after ``t`` steps (also logged at ``t = 0``);
  ``distance_average`` the same for the averaged iterate, with averaging;
- ``loss_<player>``, ``grad_norm_<player>`` and the game's metrics, as step ``t`` saw them
  at its pre-update point;
- ``grad_evals``: gradient evaluations so far; ``wall_time``: seconds of training so far,
  logging excluded.

``compare`` (a Sacred command) runs every optimizer (the ``optimizer`` settings with each
name in turn, so ``lr`` must be one number; plus ``lookahead_gda`` and ``lookahead_extragradient``,
those two with lookahead k = 5, alpha = 0.5) for ``steps`` steps on the bilinear game, the
scalar bilinear game (``dim=1``) and Dirac-GAN, each with its default options (``game``
and ``game_options`` are not used). It logs ``<game>.<optimizer>.distance`` and adds as
artifacts ``distances.png`` (distance against gradient evaluations, log scale, one panel per game) and
``trajectories_<game>.png`` (each optimizer's path in the plane) for the two scalar
games. It returns the final distances, by game and optimizer.

With ``members=N`` (N > 1) the default command trains N copies at once as one vmapped
:class:`~ali_opt.ensemble.Ensemble`: member i is the game built with ``game_options.seed``
+ i (for games that take a seed) and batches seeded with ``seed`` + i, exactly the run those
seeds give alone; ``optimizer.lr`` may then be a list of N step sizes (a sweep). It logs
``distance`` (the median member), ``member<i>.distance`` and ``member<i>.loss_<player>``,
adds ``member_distances.png`` (median member and min-max band), and returns ``distances``
and ``diverged_at`` (one per member; a diverging member is frozen, the others go on).

Every optimizer name is also a named config (``with extragradient``). Runs are recorded in
``output`` (a FileStorageObserver folder; ``""`` records nothing on disk). ``seed`` seeds
the batches of stochastic games (mixture); ``game_options.seed`` fixes the game itself.
"""
from __future__ import annotations

import ali_opt  # noqa: F401  (quiets Sacred's import warning)
import statistics
import tempfile
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

import numpy as np
import torch
from sacred import Experiment
from sacred.utils import apply_backspaces_and_linefeeds
from tqdm import tqdm

from ali_opt.errors import ConfigError, check_positive
from ali_opt.ensemble import Ensemble
from ali_opt.ensemble_training import EnsembleTraining, member_scalars
from ali_opt.game import Game
from ali_opt.plots.ensembles import MemberCurves, plot_member_bands
from ali_opt.plots.toy_games import (LOOKAHEAD_PREFIX, DistanceCurve, PlaneTrajectories, plot_distances,
                                     plot_trajectories)
from ali_opt.runtime.sacred_setup import observe_config_folder, run_commandline
from ali_opt.runtime.stopwatch import Stopwatch
from ali_opt.runtime.threads import torch_threads
from ali_opt.stepping import Actions, StepLoop, StepSchedule
from ali_opt.toy_games import build_toy_game, toy_game_options
from optimizers import DEFAULTS, OPTIMIZERS, Averaged, GameOptimizer, StepReport, build_optimizer, validate_config

COMPARED_GAMES = {
    "bilinear": ("bilinear", {}),
    "scalar_bilinear": ("bilinear", {"dim": 1}),
    "dirac": ("dirac", {}),
}
"""The games of ``compare``: a name for figures and metrics -> (toy game, options)."""

LOOKAHEAD_VARIANTS = {f"{LOOKAHEAD_PREFIX}{name}": {"name": name, "lookahead_k": 5, "lookahead_alpha": 0.5}
                      for name in ("gda", "extragradient")}
"""The lookahead wrappers ``compare`` adds to the optimizers (k = 5, alpha = 0.5, the paper's defaults)."""

PLANE_GAMES = ("scalar_bilinear", "dirac")
"""The compared games with two scalar parameters, whose paths ``compare`` draws."""


def compared_game(title: str) -> Game:
    """A fresh instance of the compared game called ``title``."""
    game_name, options = COMPARED_GAMES[title]
    return build_toy_game(game_name, **options)


ex = Experiment("toy_games", save_git_info=False)
ex.captured_out_filter = apply_backspaces_and_linefeeds
observe_config_folder(ex, "output")


@ex.config
def config():
    game = "bilinear"  # bilinear, quadratic, dirac or mixture
    game_options = {}  # e.g. {"dim": 8, "seed": 1}, {"mu": 0.1}, {"loss": "minimax"}, {"kind": "grid"}
    optimizer = dict(DEFAULTS, lr=0.1)  # see optimizers.registry.DEFAULTS
    steps = 1000
    log_every = 10
    seed = 0  # seeds the batches of stochastic games
    members = 1  # > 1: train this many seeds at once as one vmapped ensemble
    progress = True  # a progress bar on a terminal
    threads = 1  # torch CPU threads while training; toy tensors are too small to gain from more
    output = "runs/toy_games"  # FileStorageObserver folder; "" records nothing on disk


for _name in OPTIMIZERS:
    ex.add_named_config(_name, {"optimizer": {"name": _name}})


@ex.config_hook
def validate(config, command_name, logger):
    if not isinstance(config["game_options"], Mapping):
        raise ConfigError(f"game_options={config['game_options']!r} is not valid; it must be a dict of options")
    if command_name == "compare":
        played = [compared_game(title) for title in COMPARED_GAMES]
    else:
        played = [build_toy_game(config["game"], **config["game_options"])]
    for game in played:
        validate_config(config["optimizer"], game.players)
    check_positive("members", config["members"], integer=True)
    check_member_lr(config["optimizer"]["lr"], config["members"])
    check_positive("steps", config["steps"], integer=True)
    check_positive("log_every", config["log_every"], integer=True)
    check_positive("threads", config["threads"], integer=True)
    if not isinstance(config["progress"], bool):
        raise ConfigError(f"progress={config['progress']!r} is not valid; it must be true or false")
    return {}


def play(step: Callable[[], StepReport], steps: int, log_every: int, observe: Callable[[Actions, StepReport], None],
         progress: bool = False) -> None:
    """Call ``step()`` ``steps`` times and ``observe(actions, report)`` after each call: ``actions.step``
    is t, ``actions.log`` is true every ``log_every`` steps and at the last (:mod:`ali_opt.stepping`)."""
    bar = {"disable": None if progress else True, "mininterval": 1.0, "leave": False}
    with StepLoop(StepSchedule(steps, log_every=log_every), progress=bar) as loop:
        for _ in loop:
            report = step()
            observe(loop.done(), report)


def optimizer_step(game: Game, optimizer: GameOptimizer | Averaged,
                   batches: torch.Generator) -> Callable[[], StepReport]:
    """One step of ``optimizer`` on ``game``, its batches (if any) drawn from ``batches``."""
    return partial(optimizer.step, partial(game.sample_batch, batches))


def step_scalars(report: StepReport) -> dict[str, float]:
    """What a step saw at its pre-update point: each player's loss and gradient norm, the game's metrics."""
    scalars = {f"loss_{player}": loss.item() for player, loss in report.losses.items()}
    scalars.update({f"grad_norm_{player}": norm.item() for player, norm in report.grad_norms.items()})
    scalars.update({name: value.item() for name, value in report.metrics.items()})
    return scalars


def averaged_distance(game: Game, optimizer: Averaged) -> float:
    with optimizer.averaged_parameters():
        return game.distance_to_equilibrium()


@ex.main
def main(game, game_options, optimizer, steps, log_every, seed, members, progress, threads, _run):
    if members > 1:
        return train_members(game, game_options, optimizer, steps, log_every, seed, members, progress, threads, _run)
    toy_game = build_toy_game(game, **game_options)
    game_optimizer = build_optimizer(toy_game, optimizer)
    averaging = isinstance(game_optimizer, Averaged)
    stopwatch = Stopwatch()
    _run.log_scalar("distance", toy_game.distance_to_equilibrium(), 0)

    def log(actions: Actions, report: StepReport) -> None:
        if not actions.log:
            return
        step = actions.step
        wall_time, _ = stopwatch.elapsed()
        with stopwatch.paused():
            scalars = {"distance": toy_game.distance_to_equilibrium(), **step_scalars(report),
                       "grad_evals": report.grad_evals, "wall_time": wall_time}
            if averaging:
                scalars["distance_average"] = averaged_distance(toy_game, game_optimizer)
            for name, value in scalars.items():
                _run.log_scalar(name, value, step)

    with torch_threads(threads):
        play(optimizer_step(toy_game, game_optimizer, torch.Generator().manual_seed(seed)), steps, log_every, log,
             progress)
    result = {"distance": toy_game.distance_to_equilibrium(), "steps": steps, "grad_evals": game_optimizer.grad_evals}
    if averaging:
        result["distance_average"] = averaged_distance(toy_game, game_optimizer)
    return result


def check_member_lr(lr, members: int) -> None:
    """Raise :class:`ConfigError` when a list of per-member step sizes does not have ``members`` entries."""
    for value in (lr.values() if isinstance(lr, Mapping) else [lr]):
        if isinstance(value, (list, tuple)) and len(value) != members:
            raise ConfigError(f"optimizer.lr={lr!r} is not valid with members={members}; give one step size per "
                              "member, or one number")


def member_games(game: str, game_options: Mapping, members: int) -> list[Game]:
    """The ensemble's games: ``game_options.seed`` + i for member i when the game takes a seed."""
    takes_seed = "seed" in toy_game_options(game)
    first_seed = game_options.get("seed", 0)
    return [build_toy_game(game, **{**game_options, **({"seed": first_seed + i} if takes_seed else {})})
            for i in range(members)]


def train_members(game, game_options, optimizer, steps, log_every, seed, members, progress, threads, _run):
    """``members`` seeds of ``game`` at once (see the module docstring)."""
    ensemble = Ensemble(member_games(game, game_options, members), batch_seeds=[seed + i for i in range(members)])
    training = EnsembleTraining(ensemble, build_optimizer(ensemble, optimizer))
    logged_steps, distances = [0], [ensemble.member_distances()]

    def log(actions: Actions, report: StepReport) -> None:
        if not actions.log:
            return
        step = actions.step
        logged_steps.append(step)
        distances.append(ensemble.member_distances())
        _run.log_scalar("distance", statistics.median(distances[-1]), step)
        for name, values in member_scalars(report, ensemble).items():
            for index, value in enumerate(values):
                _run.log_scalar(f"member{index}.{name}", value, step)
        for index, value in enumerate(distances[-1]):
            _run.log_scalar(f"member{index}.distance", value, step)

    with torch_threads(threads):
        play(training.step, steps, log_every, log, progress)
    with tempfile.TemporaryDirectory() as folder:
        curves = {optimizer["name"]: MemberCurves(np.asarray(logged_steps), {"distance": np.asarray(distances)})}
        _run.add_artifact(str(plot_member_bands(curves, ["distance"], Path(folder) / "member_distances.png",
                                                log_scale=["distance"], title=f"{game}: {members} members")))
    return {"distance": statistics.median(distances[-1]), "distances": distances[-1],
            "diverged_at": training.diverged_at, "steps": steps, "grad_evals": training.optimizer.grad_evals}


def parameter_vector(game: Game) -> torch.Tensor:
    """All of the game's parameters, flattened in ``named_parameters()`` order."""
    return torch.cat([parameter.detach().flatten() for parameter in game.parameters()])


def plane_trajectories(title: str, paths: dict[str, np.ndarray]) -> PlaneTrajectories:
    """The compared plane game ``title`` with ``paths``, axes named after its parameters."""
    game = compared_game(title)
    names = [name for name, _ in game.named_parameters()]
    equilibrium = game.equilibrium()
    return PlaneTrajectories(game=title, axis_names=tuple(names),
                             equilibrium=tuple(equilibrium[name].item() for name in names), paths=paths)


@ex.command
def compare(optimizer, steps, log_every, seed, progress, threads, _run, _log):
    """Every optimizer on the bilinear game, the scalar bilinear game and Dirac-GAN; figures as artifacts."""
    curves = {title: {} for title in COMPARED_GAMES}
    paths = {title: {} for title in PLANE_GAMES}
    runs = [(title, name) for title in COMPARED_GAMES for name in [*OPTIMIZERS, *LOOKAHEAD_VARIANTS]]
    for title, name in tqdm(runs, disable=None if progress else True, mininterval=1.0, leave=False):
        game = compared_game(title)
        game_optimizer = build_optimizer(game, {**optimizer, **LOOKAHEAD_VARIANTS.get(name, {"name": name})})
        distances, points, grad_evals = [game.distance_to_equilibrium()], [parameter_vector(game)], [0]

        def record(actions: Actions, report: StepReport) -> None:
            distances.append(game.distance_to_equilibrium())
            grad_evals.append(report.grad_evals)
            points.append(parameter_vector(game))
            if actions.log:
                _run.log_scalar(f"{title}.{name}.distance", distances[-1], actions.step)

        with torch_threads(threads):
            play(optimizer_step(game, game_optimizer, torch.Generator().manual_seed(seed)), steps, log_every, record)
        curves[title][name] = DistanceCurve(grad_evals, distances)
        if title in paths:
            paths[title][name] = torch.stack(points).numpy()

    if not _run.observers:
        _log.warning("no observer (output is empty): the figures are not kept")
    with tempfile.TemporaryDirectory() as folder:
        figures = [plot_distances(curves, Path(folder) / "distances.png")]
        for title in PLANE_GAMES:
            figures.append(plot_trajectories(plane_trajectories(title, paths[title]),
                                             Path(folder) / f"trajectories_{title}.png"))
        for figure in figures:
            _run.add_artifact(str(figure))
    return {title: {name: found.distances[-1] for name, found in by_optimizer.items()}
            for title, by_optimizer in curves.items()}


if __name__ == "__main__":
    run_commandline(ex)

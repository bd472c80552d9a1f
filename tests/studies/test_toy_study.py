"""The toy-game study: what a run logs and returns, the comparison figures, and bad input on the command line."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from optimizers import OPTIMIZERS
from studies.toy_games import COMPARED_GAMES, PLANE_GAMES, ex

ROOT = Path(__file__).resolve().parents[2]


def run_study(output: Path, command: str = "main", **config):
    updates = {"output": str(output), "progress": False, "steps": 20, "log_every": 5, **config}
    return ex.run(command, config_updates=updates, options={"--loglevel": "ERROR"})


def logged(output: Path) -> dict:
    return json.loads((output / "1" / "metrics.json").read_text())


@pytest.mark.parametrize("game, options, players", [
    ("bilinear", {"dim": 3}, ["y", "x"]),
    ("quadratic", {"mu": 0.2}, ["y", "x"]),
    ("dirac", {"loss": "minimax"}, ["psi", "theta"]),
    ("mixture", {"kind": "grid", "batch_size": 16, "hidden": 8, "eval_size": 64}, ["discriminator", "generator"]),
])
def test_run_logs_every_metric_and_returns_the_result(tmp_path, game, options, players):
    run = run_study(tmp_path, game=game, game_options=options, optimizer={"name": "extragradient", "average": "ema"})
    metrics = logged(tmp_path)
    per_player = {f"{kind}_{player}" for kind in ("loss", "grad_norm") for player in players}
    assert {"distance", "distance_average", "grad_evals", "wall_time", *per_player} <= set(metrics)
    assert metrics["distance"]["steps"] == [0, 5, 10, 15, 20]
    assert metrics["grad_evals"]["steps"] == [5, 10, 15, 20]
    assert metrics["grad_evals"]["values"] == [10, 20, 30, 40]  # extragradient: two evaluations a step
    wall_times = metrics["wall_time"]["values"]
    assert wall_times == sorted(wall_times) and wall_times[0] > 0
    assert run.result == {"distance": metrics["distance"]["values"][-1], "steps": 20, "grad_evals": 40,
                          "distance_average": metrics["distance_average"]["values"][-1]}


def test_run_ends_on_last_step_between_log_steps(tmp_path):
    run_study(tmp_path, optimizer={"name": "alt_gda", "d_steps": 2}, steps=7, log_every=5)
    metrics = logged(tmp_path)
    assert metrics["distance"]["steps"] == [0, 5, 7]
    assert metrics["grad_evals"]["values"] == [15, 21]
    assert "distance_average" not in metrics


def test_compare_draws_every_optimizer_on_every_game(tmp_path):
    run = run_study(tmp_path, "compare", steps=6, log_every=3, optimizer={"lr": 0.2})
    folder = tmp_path / "1"
    expected = ["distances.png", *(f"trajectories_{title}.png" for title in PLANE_GAMES)]
    assert sorted(json.loads((folder / "run.json").read_text())["artifacts"]) == sorted(expected)
    assert all((folder / name).stat().st_size > 10_000 for name in expected)
    assert set(run.result) == set(COMPARED_GAMES)
    expected = {*OPTIMIZERS, "lookahead_gda", "lookahead_extragradient"}
    assert all(set(by_optimizer) == expected for by_optimizer in run.result.values())
    metrics = logged(tmp_path)
    assert metrics["dirac.optimistic.distance"]["steps"] == [3, 6]
    assert metrics["bilinear.gda.distance"]["values"][-1] == run.result["bilinear"]["gda"]


@pytest.mark.parametrize("argument, message", [
    ("optimizer.name=nope", "optimizer.name='nope' is not valid; choose one of: gda, adam"),
    ("game_options.dimension=3", "game_options.dimension=3 is not an option of the bilinear game"),
])
def test_bad_input_prints_one_line_and_creates_no_run(tmp_path, argument, message):
    output = tmp_path / "runs"
    finished = subprocess.run([sys.executable, "-m", "studies.toy_games", "with", argument, f"output={output}"],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert finished.returncode != 0
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not output.exists()


def test_members_train_as_one_ensemble_with_a_step_size_each(tmp_path):
    options = {"batch_size": 16, "hidden": 8, "eval_size": 32}
    run = run_study(tmp_path, game="mixture", game_options=options, members=3,
                    optimizer={"name": "extra_adam", "lr": [1e-3, 2e-3, 3e-3]})
    assert len(run.result["distances"]) == 3 and run.result["diverged_at"] == [None] * 3
    assert run.result["grad_evals"] == 40
    metrics = logged(tmp_path)
    assert {"distance", "member2.distance", "member0.loss_generator", "member1.grad_norm_discriminator"} <= set(metrics)
    assert (tmp_path / "1" / "member_distances.png").is_file()


def test_distance_curves_are_drawn_against_evaluations_and_stop_where_they_leave_the_panel(tmp_path):
    """x is the gradient evaluations given; a curve stops before its first distance above the ceiling or not
    finite (and says so); distances below the floor, zeros included, are drawn at it."""
    from ali_opt.plots.toy_games import DISTANCE_FLOOR, DistanceCurve, plot_distances, visible_part
    x, y, escaped = visible_part(DistanceCurve([0, 2, 4, 6, 8], [1.0, 0.5, 0.0, 1e-20, 0.25]))
    assert x.tolist() == [0, 2, 4, 6, 8] and y.tolist() == [1.0, 0.5, DISTANCE_FLOOR, DISTANCE_FLOOR, 0.25]
    assert not escaped
    x, y, escaped = visible_part(DistanceCurve([0, 1, 2, 3], [1.0, 3e3, 2e4, 5.0]))
    assert x.tolist() == [0, 1] and y.tolist() == [1.0, 3e3] and escaped
    x, y, escaped = visible_part(DistanceCurve([0, 1, 2], [1.0, float("nan"), 1.0]))
    assert x.tolist() == [0] and escaped
    curves = {"bilinear": {"gda": DistanceCurve([0, 1, 2], [1.0, 1e5, float("inf")]),
                           "extragradient": DistanceCurve([0, 2, 4], [1.0, 0.5, 0.0])}}
    path = plot_distances(curves, tmp_path / "distances.png")
    assert path.is_file() and path.stat().st_size > 1000

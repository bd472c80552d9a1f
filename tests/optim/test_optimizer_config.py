"""Optimizer configs: bad values raise one ConfigError naming key, value and what is valid; state round trips."""
from __future__ import annotations

import io

import pytest
import torch

from ali_opt.errors import ConfigError
from ali_opt.toy_games import build_toy_game
from optimizers import OPTIMIZERS
from optimizers.registry import AVERAGING
from tests.helpers.toy_games import no_batch, optimizer_for


@pytest.mark.parametrize("config, mentioned", [
    ({"name": "sgd"}, ["optimizer.name", "'sgd'", *OPTIMIZERS]),
    ({"lr": 0}, ["optimizer.lr", "0", "positive number"]),
    ({"lr": -0.1}, ["optimizer.lr", "-0.1", "positive number"]),
    ({"lr": "fast"}, ["optimizer.lr", "'fast'", "positive number"]),
    ({"betas": (0.9, 1.0)}, ["optimizer.betas[1]", "1.0", "[0, 1)"]),
    ({"betas": (0.9,)}, ["optimizer.betas", "(0.9,)", "pair"]),
    ({"d_steps": 0}, ["optimizer.d_steps", "0", "positive integer"]),
    ({"d_steps": 1.5}, ["optimizer.d_steps", "1.5", "positive integer"]),
    ({"average": "polyak"}, ["optimizer.average", "'polyak'", *AVERAGING]),
    ({"ema_beta": 1}, ["optimizer.ema_beta", "1", "(0, 1)"]),
    ({"momentum": 1.0}, ["optimizer.momentum", "1.0", "[0, 1)"]),
    ({"resample": "yes"}, ["optimizer.resample", "'yes'", "true or false"]),
    ({"first_step": "triple"}, ["optimizer.first_step", "'triple'", "double", "single"]),
    ({"lr": {"x": 0.1, "z": 0.1}}, ["optimizer.lr", "'z'", "one per player", "y, x"]),
    ({"lr": {"x": 0.1, "y": -1}}, ["optimizer.lr.y", "-1", "positive number"]),
    ({"learning_rate": 0.1}, ["optimizer.learning_rate", "valid options", "lr", "betas"]),
    ({"sga_align_norm": "params"}, ["optimizer.sga_align_norm", "'params'", "tensors", "scalars"]),
    ({"cgd_solve_for": "both"}, ["optimizer.cgd_solve_for", "'both'", "alternate", "first", "second"]),
    ({"cgd_max_iter": 0}, ["optimizer.cgd_max_iter", "0", "integer >= 1", "None", "as many iterations as unknowns"]),
    ({"cgd_max_iter": 2.5}, ["optimizer.cgd_max_iter", "2.5", "integer >= 1"]),
    ({"cgd_atol": -1e-10}, ["optimizer.cgd_atol", "-1e-10", ">= 0"]),
    ({"cgd_tol": 0}, ["optimizer.cgd_tol", "0", "positive number"]),
    ({"acgd_beta": 1.0}, ["optimizer.acgd_beta", "1.0", "[0, 1)"]),
    ({"acgd_eps": 0}, ["optimizer.acgd_eps", "0", "positive number"]),
])
def test_bad_config_names_key_value_and_valid_choices(config, mentioned):
    game = build_toy_game("bilinear", dim=2)
    with pytest.raises(ConfigError) as error:
        optimizer_for(game, **{"name": "gda", **config})
    message = str(error.value)
    assert "\n" not in message
    for text in mentioned:
        assert text in message


@pytest.mark.parametrize("value", [None, "auto", 7])
def test_cgd_max_iter_takes_a_count_or_auto(value):
    optimizer = optimizer_for(build_toy_game("bilinear", dim=2), "cgd", cgd_max_iter=value)
    assert optimizer.cgd_max_iter == (7 if value == 7 else None)


@pytest.mark.parametrize("average", AVERAGING)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_round_trip_continues_bit_for_bit(name, average):
    config = {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.01, "average": average, "ema_beta": 0.9}

    def fresh():
        game = build_toy_game("bilinear", dim=3, seed=1)
        return game, optimizer_for(game, name, **config)

    def run_three(optimizer):
        return [optimizer.step(no_batch).losses["x"] for _ in range(3)]

    game, optimizer = fresh()
    run_three(optimizer)
    saved = io.BytesIO()
    torch.save({"game": game.state_dict(), "optimizer": optimizer.state_dict()}, saved)
    expected_losses = run_three(optimizer)

    saved.seek(0)
    state = torch.load(saved, weights_only=True)
    resumed_game, resumed = fresh()
    resumed_game.load_state_dict(state["game"])
    resumed.load_state_dict(state["optimizer"])
    assert run_three(resumed) == expected_losses
    for (key, value), resumed_value in zip(game.state_dict().items(), resumed_game.state_dict().values()):
        assert torch.equal(value, resumed_value), key
    assert resumed.grad_evals == optimizer.grad_evals
    if average != "none":
        for player in game.players:
            assert all(map(torch.equal, optimizer.averaged[player], resumed.averaged[player]))

"""The FLOPs of an optimizer step (FlopCounterMode on copies), what a run charges per step, and the cache."""
from __future__ import annotations

import copy
import json

import pytest
import torch

from ali_opt.metrics import flops as flops_module
from ali_opt.metrics.flops import StepCost, count_flops, measure_step_cost, run_step_cost, step_flops
from optimizers import build_optimizer
from optimizers.field import GameField
from tests.helpers.games import small_paper_game

BATCH = 8


pytestmark = pytest.mark.usefixtures("one_thread")


def setup(name: str, **options):
    """A fresh small ALI game (same initial weights every time), its optimizer and a sampler."""
    game = small_paper_game()
    optimizer = build_optimizer(game, {"name": name, **options})
    generator = torch.Generator().manual_seed(0)

    def sample():
        return game.draw_batch(torch.rand(BATCH, 3, 32, 32, generator=generator), generator)

    return game, optimizer, sample


def evaluation_flops(players=None) -> int:
    """One gradient evaluation of ``players`` (default: both), counted on a game of its own."""
    game, optimizer, sample = setup("adam")
    return count_flops(lambda: optimizer._evaluate(sample(), players=players))


def test_an_adam_step_is_one_evaluation_and_the_rules_count_nothing():
    game, optimizer, sample = setup("adam")
    assert step_flops(game, optimizer, sample) == (evaluation_flops(), 1)
    for name in ("optimistic_adam", "gda"):
        assert step_flops(*setup(name)) == (evaluation_flops(), 1), name
    wrapped = setup("adam", average="ema", lookahead_k=1)
    assert step_flops(*wrapped) == (evaluation_flops(), 1)


def test_alternating_counts_its_two_evaluations_which_cost_less_than_two_adam_steps():
    adam, _ = step_flops(*setup("adam"))
    alternating, evals = step_flops(*setup("alt_adam"))
    d_only, g_only = evaluation_flops(["d"]), evaluation_flops(["g"])
    assert evals == 2
    assert alternating == d_only + g_only  # the second, after the discriminator moved, included
    assert adam < alternating < 2 * adam
    more_d_steps, evals = step_flops(*setup("alt_adam", d_steps=3))
    assert (more_d_steps, evals) == (3 * d_only + g_only, 4)


def test_extragradient_is_exactly_two_adam_steps():
    adam, _ = step_flops(*setup("adam"))
    for resample in (True, False):
        assert step_flops(*setup("extra_adam", resample=resample)) == (2 * adam, 2)


def test_counting_leaves_the_game_optimizer_and_random_streams_untouched():
    game, optimizer, sample = setup("extra_adam")
    optimizer.step(sample)  # some optimizer state to keep
    state, rules = copy.deepcopy(game.state_dict()), copy.deepcopy(optimizer.state_dict())
    torch.manual_seed(5)
    expected_draw = torch.rand(3)
    torch.manual_seed(5)
    measure_step_cost(game, optimizer, sample)
    assert torch.equal(torch.rand(3), expected_draw)
    assert all(torch.equal(value, game.state_dict()[key]) for key, value in state.items())
    assert optimizer.grad_evals == rules["grad_evals"] == 2
    after = optimizer.state_dict()["rules"]
    assert all(after[player]["step"] == rules["rules"][player]["step"] == 2 for player in after)
    assert all(torch.equal(a, b) for player in after
               for a, b in zip(after[player]["exp_avg"], rules["rules"][player]["exp_avg"]))
    assert sample().x.shape[0] == BATCH  # the sampler is the caller's: the copy drew from it, as told


@pytest.mark.parametrize("name", ["cgd", "acgd"])
def test_a_cgd_step_counts_its_field_and_every_hessian_vector_product(name):
    game, optimizer, sample = setup(name, lr=1e-3)
    first, second = game.players
    batch = sample()
    field_flops = count_flops(lambda: GameField(game, optimizer.params, batch, full=True))
    field = GameField(game, optimizer.params, batch, full=True)
    products = {(row, column): count_flops(lambda: field.block_product(
        row, column, [torch.ones_like(p) for p in optimizer.params[column]])) for row, column in
        ((first, second), (second, first))}
    pair = sum(products.values())
    cost = measure_step_cost(game, optimizer, sample)
    assert (cost.extra_flops, cost.extra_evals) == (pair, 2)  # one more iteration: one product of each block
    for step in range(3):  # the first step solves from 0, the later ones from a warm start (one more pair)
        before = optimizer.grad_evals
        counted = count_flops(lambda: optimizer.step(sample))
        spent = optimizer.grad_evals - before
        iterations = optimizer.last_solver_iterations
        pairs = 1 + iterations + (step > 0)  # right-hand side and substitution, each iteration, the warm start
        assert spent == 1 + 2 * pairs
        assert counted == field_flops + pairs * pair == cost(spent)
        assert counted > 2 * evaluation_flops()


def test_a_cost_charges_extra_evaluations_and_totals_a_checkpoint():
    fixed = StepCost(100, 2)
    assert fixed(2) == fixed(5) == 100 and fixed.total(7, 14) == 700
    variable = StepCost(flops=50, grad_evals=5, extra_flops=20, extra_evals=2)
    assert (variable(3), variable(5), variable(9)) == (30, 50, 90)
    assert variable.total(3, 5 + 7 + 9) == 50 + 70 + 90  # three steps of 5, 7 and 9 evaluations


def run_config(**updates) -> dict:
    return {"model": "cifar32", "width": 0.125, "loss": "non_saturating", "batch_size": BATCH, "precision": "fp32",
            "optimizer": {"name": "adam", "lr": 1e-4, **updates}}


def test_costs_are_cached_in_this_process_and_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(flops_module, "_MEMORY", {})
    measured = []
    monkeypatch.setattr(flops_module, "measure_step_cost",
                        lambda *args: measured.append(1) or measure_step_cost(*args))
    game, optimizer, sample = setup("adam")
    first = run_step_cost(run_config(), game, optimizer, sample, (3, 32, 32))
    assert first == StepCost(evaluation_flops(), 1) and len(measured) == 1
    path = tmp_path / "cache" / "ali-opt" / "flops.json"
    (entry,) = json.loads(path.read_text()).values()
    assert entry["flops"] == first.flops and entry["key"]["optimizer"]["name"] == "adam"
    assert run_step_cost(run_config(), game, optimizer, sample, (3, 32, 32)) == first and len(measured) == 1
    monkeypatch.setattr(flops_module, "_MEMORY", {})  # a new process: from the file
    assert run_step_cost(run_config(lr=0.5), game, optimizer, sample, (3, 32, 32)) == first and len(measured) == 1
    run_step_cost(run_config(betas=[0.5, 0.9]), game, optimizer, sample, (3, 32, 32))  # any other option: its own
    assert len(measured) == 2 and len(json.loads(path.read_text())) == 2
    assert not list(path.parent.glob(".flops-*"))  # no temporary file left


def test_a_corrupt_cache_is_ignored_with_a_warning_and_rewritten(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(flops_module, "_MEMORY", {})
    path = tmp_path / "ali-opt" / "flops.json"
    path.parent.mkdir()
    path.write_text('{"half a fi')
    game, optimizer, sample = setup("adam")
    with pytest.warns(UserWarning, match="ignoring the corrupt FLOPs cache"):
        cost = run_step_cost(run_config(), game, optimizer, sample, (3, 32, 32))
    assert [entry["flops"] for entry in json.loads(path.read_text()).values()] == [cost.flops]

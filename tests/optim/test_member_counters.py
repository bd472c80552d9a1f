"""Gradient evaluations per member of an ensemble: ``member_grad_evals`` on the optimizer and in each
report is what a separate run of each member counts, also where a member's linear solve (cgd, acgd)
stops before another's; ``grad_evals`` stays the ensemble's own count (the most of any member), and a
single game's counters stay as they were (an int; no per-member entry in reports or state)."""
from __future__ import annotations

import io

import pytest
import torch

from ali_opt.ensemble import Ensemble
from optimizers import build_optimizer
from tests.helpers.toy_games import BilinearPairGame, no_batch

STEP_SIZES = [0.01, 0.5]  # the small step's systems are nearly the identity: its solves stop sooner


def members(zero_sum: bool) -> list[BilinearPairGame]:
    return [BilinearPairGame.random(seed, coupling=0.0 if zero_sum else None, zero_sum=zero_sum) for seed in (0, 1)]


@pytest.mark.parametrize("zero_sum", [True, False])
@pytest.mark.parametrize("name", ["cgd", "acgd"])
def test_each_member_counts_what_its_separate_run_counts(name, zero_sum):
    ensemble = Ensemble(members(zero_sum))
    optimizer = build_optimizer(ensemble, {"name": name, "lr": STEP_SIZES})
    reports = [optimizer.step(no_batch) for _ in range(3)]
    separate = []
    for index, (game, lr) in enumerate(zip(members(zero_sum), STEP_SIZES)):
        alone = build_optimizer(game, {"name": name, "lr": lr})
        counts = []
        for _ in range(3):
            counts.append(alone.step(no_batch).grad_evals)
        separate.append(counts)
        for parameter_name, parameter in game.named_parameters():
            torch.testing.assert_close(ensemble.member_state(index)[parameter_name], parameter.detach(),
                                       rtol=1e-10, atol=1e-12)
        assert isinstance(alone.grad_evals, int) and alone.member_grad_evals is None
    assert separate[0][-1] < separate[1][-1]  # the members' solves did stop at different iterations
    assert optimizer.member_grad_evals == [counts[-1] for counts in separate]
    assert [report.member_grad_evals for report in reports] == [list(step) for step in zip(*separate)]
    assert optimizer.grad_evals == max(optimizer.member_grad_evals)
    assert optimizer.solver == ("cg" if zero_sum else "gmres")


def test_a_first_order_scheme_counts_the_same_for_every_member():
    ensemble = Ensemble(members(False))
    optimizer = build_optimizer(ensemble, {"name": "extra_adam", "lr": STEP_SIZES})
    reports = [optimizer.step(no_batch) for _ in range(3)]
    assert [report.member_grad_evals for report in reports] == [[2, 2], [4, 4], [6, 6]]
    assert optimizer.grad_evals == 6


def test_member_counts_travel_in_the_state():
    ensemble = Ensemble(members(False))
    optimizer = build_optimizer(ensemble, {"name": "cgd", "lr": STEP_SIZES})
    for _ in range(2):
        optimizer.step(no_batch)
    saved = io.BytesIO()
    torch.save(optimizer.state_dict(), saved)
    saved.seek(0)
    resumed = build_optimizer(ensemble, {"name": "cgd", "lr": STEP_SIZES})
    resumed.load_state_dict(torch.load(saved, weights_only=True))
    assert resumed.member_grad_evals == optimizer.member_grad_evals and resumed.grad_evals == optimizer.grad_evals
    single = build_optimizer(members(False)[0], {"name": "cgd", "lr": 0.5})
    single.step(no_batch)
    assert "member_grad_evals" not in single.state_dict()

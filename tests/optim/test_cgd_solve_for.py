r"""Whose part of the equilibrium CGD's linear solve finds: the players in turn (the authors' BCGD and ACGD,
``cgd_solve_for="alternate"``, the default), or always the first or the second player.

Exact solves give the same step whoever is solved for; a solve cut short is exact only for a player with
as few unknowns as iterations: with ``cgd_max_iter=1`` and players of 1 and 3 entries, the steps that
solve for the 1-entry player are the equilibrium's and the others are not. (The players' own terms
:math:`\tfrac{\mu}{2}|\theta_i|^2` keep the right-hand side of the 3-entry player's system out of the
range of its rank-one coupling, where one iteration would be exact.)
"""
from __future__ import annotations

import warnings

import pytest

from optimizers import DEFAULTS
from tests.helpers.toy_games import BilinearPairGame, no_batch, optimizer_for

SOLVED = {"alternate": ["a", "b", "a", "b"], "first": ["a"] * 4, "second": ["b"] * 4}


def step_error(game: BilinearPairGame, optimizer, eta: float) -> float:
    expected_a, expected_b = game.nash_step(eta, eta)
    a, b = game.a.detach().clone(), game.b.detach().clone()
    optimizer.step(no_batch)
    return max((game.a.detach() - a - expected_a).abs().max().item(),
               (game.b.detach() - b - expected_b).abs().max().item())


def test_the_default_is_the_authors_alternation():
    assert DEFAULTS["cgd_solve_for"] == "alternate"


@pytest.mark.parametrize("name", ["cgd", "acgd"])
@pytest.mark.parametrize("solve_for", SOLVED)
def test_who_is_solved_for(name, solve_for):
    game = BilinearPairGame.random(0, dim=2, dim_b=3)
    optimizer = optimizer_for(game, name, lr=0.3, cgd_solve_for=solve_for)
    solved = []
    for _ in range(4):
        optimizer.step(no_batch)
        solved.append(optimizer.last_solved)
    assert solved == SOLVED[solve_for]


@pytest.mark.parametrize("solve_for", SOLVED)
def test_exact_solves_give_the_equilibrium_whoever_is_solved_for(solve_for):
    game = BilinearPairGame.random(1, dim=2, dim_b=3)
    optimizer = optimizer_for(game, "cgd", lr=0.5, cgd_solve_for=solve_for)
    assert max(step_error(game, optimizer, 0.5) for _ in range(4)) < 1e-10


@pytest.mark.parametrize("solve_for, exact", [
    ("first", [True, True, True, True]),
    ("second", [False, False, False, False]),
    ("alternate", [True, False, True, False]),
])
def test_a_one_iteration_solve_is_exact_for_the_one_entry_player_only(solve_for, exact):
    game = BilinearPairGame.random(2, dim=1, dim_b=3, mu=0.5)
    optimizer = optimizer_for(game, "cgd", lr=0.5, cgd_solve_for=solve_for, cgd_max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the 3-entry solves stop unconverged
        errors = [step_error(game, optimizer, 0.5) for _ in range(4)]
    assert [error < 1e-12 for error in errors] == exact
    assert all(error > 1e-6 for error, is_exact in zip(errors, exact) if not is_exact)

r"""CGD's linear solve: GMRES on general-sum games, conjugate gradient where the game declares zero-sum,
the warm start, the stopping rule and its warning.

:class:`BilinearPairGame` has :math:`\ell_a = a^\top Bb`, :math:`\ell_b = b^\top Ca`: its field is
:math:`(Bb, Ca)` and its mixed blocks :math:`B, C` are constant, so CGD's step is the equilibrium of
:math:`\begin{pmatrix} I & \eta_a B\\ \eta_b C & I\end{pmatrix}\Delta = -(\eta_a Bb, \eta_b Ca)`, solved
densely by ``nash_step``. Conjugate gradient on every game (before ``zero_sum`` and GMRES) got 200 of 200
random 4-d general-sum steps (:math:`\eta = 0.5`) wrong, by up to 1e12, and 56 of 200 near-zero-sum ones
(:math:`C = -B^\top + 0.1E`) off by more than 1e-6.
"""
from __future__ import annotations

import warnings

import pytest
import torch

from ali_opt.ensemble import Ensemble
from tests.helpers.games import small_paper_game
from tests.helpers.toy_games import BilinearPairGame, no_batch, optimizer_for


def step_error(game: BilinearPairGame, optimizer, eta_a: float, eta_b: float) -> float:
    """The largest difference between ``optimizer``'s next step and the dense solve of the local game."""
    expected_a, expected_b = game.nash_step(eta_a, eta_b)
    a, b = game.a.detach().clone(), game.b.detach().clone()
    optimizer.step(no_batch)
    return max((game.a.detach() - a - expected_a).abs().max().item(),
               (game.b.detach() - b - expected_b).abs().max().item())


@pytest.mark.parametrize("coupling", [None, 0.1])
@pytest.mark.parametrize("lr, dims", [(0.5, (4, 4)), ({"a": 0.5, "b": 0.2}, (3, 5))])
def test_cgd_takes_the_nash_step_on_random_general_sum_games(coupling, lr, dims):
    """Each of 100 random games, general-sum (``coupling=None``) or near-zero-sum: first step and three more."""
    eta_a, eta_b = (lr["a"], lr["b"]) if isinstance(lr, dict) else (lr, lr)
    errors = []
    for seed in range(100):
        game = BilinearPairGame.random(seed, dim=dims[0], dim_b=dims[1], coupling=coupling)
        optimizer = optimizer_for(game, "cgd", lr=lr)
        errors += [step_error(game, optimizer, eta_a, eta_b) for _ in range(1 if seed % 10 else 4)]
    assert max(errors) < 1e-6
    assert optimizer.solver == "gmres"


def test_a_declared_zero_sum_game_is_solved_by_conjugate_gradient():
    errors = []
    for seed in range(20):
        game = BilinearPairGame.random(seed, coupling=0.0, zero_sum=True)
        optimizer = optimizer_for(game, "cgd", lr=0.5)
        assert optimizer.solver == "cg"
        errors += [step_error(game, optimizer, 0.5, 0.5) for _ in range(3)]
    assert max(errors) < 1e-6


def test_the_state_keeps_each_players_c_for_the_next_solve():
    """With SGD, c = -step / eta for both players (the one solved for and the one substituted)."""
    game = BilinearPairGame.random(3)
    optimizer = optimizer_for(game, "cgd", lr=0.5)
    expected_a, expected_b = game.nash_step(0.5, 0.5)
    optimizer.step(no_batch)
    torch.testing.assert_close(optimizer.previous_solution["a"][0], -expected_a / 0.5, rtol=0, atol=1e-10)
    torch.testing.assert_close(optimizer.previous_solution["b"][0], -expected_b / 0.5, rtol=0, atol=1e-10)


def test_a_solve_starting_at_the_solution_takes_no_iteration():
    """The field, the right-hand side, the start's residual (2) and the substitution: 5 evaluations."""
    game = BilinearPairGame.random(4)
    optimizer = optimizer_for(game, "cgd", lr=0.5)
    expected_a, expected_b = game.nash_step(0.5, 0.5)
    optimizer.previous_solution = {"a": [-expected_a / 0.5], "b": [-expected_b / 0.5]}
    assert step_error(game, optimizer, 0.5, 0.5) < 1e-12
    assert optimizer.last_solver_iterations == 0 and optimizer.grad_evals == 5


def test_the_stopping_defaults_are_bcgds_on_the_residual_norm():
    """BCGD stops at |r|^2 <= max(1e-12 |b|^2, 1e-20): on |r|, cgd_tol=1e-6 relative and cgd_atol=1e-10 absolute;
    its nsteps=None caps the solve at as many iterations as unknowns (here 5), cgd_max_iter=None."""
    from optimizers import DEFAULTS
    assert (DEFAULTS["cgd_tol"], DEFAULTS["cgd_atol"], DEFAULTS["cgd_max_iter"]) == (1e-6, 1e-10, None)
    game = BilinearPairGame.random(7, dim=5)
    optimizer = optimizer_for(game, "cgd", lr=0.5, cgd_tol=1e-300, cgd_atol=0.0)  # unreachable: the cap stops it
    with pytest.warns(RuntimeWarning, match="gmres stopped after 5 iterations"):
        optimizer.step(no_batch)
    assert optimizer.last_solver_iterations == 5


def test_the_solver_reports_its_iterations_and_residual():
    game = BilinearPairGame.random(5)
    optimizer = optimizer_for(game, "cgd", lr=0.5, cgd_atol=0.0)
    optimizer.step(no_batch)
    assert 1 <= optimizer.last_solver_iterations <= 4  # GMRES is exact in 4 iterations on 4 unknowns
    assert optimizer.last_solver_residual <= 1e-6
    assert optimizer.grad_evals == 1 + 2 + 2 * optimizer.last_solver_iterations


def test_an_unconverged_solve_warns_once_per_optimizer():
    for _ in range(2):
        game = BilinearPairGame.random(6, dim=5)
        optimizer = optimizer_for(game, "cgd", lr=0.5, cgd_max_iter=1)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                optimizer.step(no_batch)
        found = [w for w in caught if issubclass(w.category, RuntimeWarning)]
        assert len(found) == 1 and "gmres stopped after 1 iterations" in str(found[0].message)
        assert optimizer.last_solver_iterations == 1 and optimizer.last_solver_residual > 1e-6


def test_ali_declares_zero_sum_for_its_minimax_loss_only():
    game = small_paper_game()
    assert game.loss == "non_saturating" and not game.zero_sum
    assert optimizer_for(game, "cgd", lr=1e-3).solver == "gmres"
    game.loss = "minimax"
    assert game.zero_sum
    assert optimizer_for(game, "cgd", lr=1e-3).solver == "cg"


@pytest.mark.parametrize("zero_sum", [True, False])
def test_an_ensemble_declares_what_its_members_declare(zero_sum):
    members = [BilinearPairGame.random(seed, coupling=0.0, zero_sum=zero_sum) for seed in range(2)]
    assert optimizer_for(Ensemble(members), "cgd", lr=0.5).solver == ("cg" if zero_sum else "gmres")

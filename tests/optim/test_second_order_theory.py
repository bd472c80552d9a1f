r"""Closed-form rates of the second-order schemes and lookahead, with SGD and step :math:`\eta`.

On :math:`\min_x\max_y xy` write :math:`z = x + iy`; the field is :math:`(y, -x)`, its Jacobian
:math:`J = \begin{pmatrix}0 & 1\\-1 & 0\end{pmatrix}` on :math:`(x, y)`, so :math:`J^\top\xi = (x, y)`, i.e. :math:`z`:

- consensus: :math:`z \mapsto z - \eta(-iz + \gamma z) = (1 - \eta\gamma + i\eta)z`, factor :math:`\sqrt{(1-\eta\gamma)^2+\eta^2}`;
- SGA: :math:`A^\top\xi = J^\top\xi` and the aligned sign is +, so :math:`(1 - \eta\lambda + i\eta)z`;
- CGD: :math:`z \mapsto (1 + i\eta)z/(1+\eta^2)`, factor :math:`1/\sqrt{1+\eta^2}`;
- lookahead over GDA: :math:`k` steps give :math:`(1+i\eta)^k z_\text{slow}`, and the pull gives
  :math:`z_\text{slow} \mapsto (1 - \alpha + \alpha(1+i\eta)^k)\,z_\text{slow}`.
"""
from __future__ import annotations

from math import sqrt

import numpy as np
import pytest
import torch

from ali_opt.toy_games import build_toy_game
from optimizers import DEFAULTS
from tests.helpers.toy_games import ScalarGame, distances, no_batch, optimizer_for


def ratios(found: list[float], every: int = 1) -> np.ndarray:
    found = np.array(found[::every])
    return found[1:] / found[:-1]


@pytest.mark.parametrize("eta", [0.1, 0.3])
def test_cgd_contracts_by_closed_form(eta):
    game = ScalarGame()
    np.testing.assert_allclose(ratios(distances(game, optimizer_for(game, "cgd", lr=eta), 20)), 1 / sqrt(1 + eta**2),
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize("eta, gamma", [(0.1, 0.5), (0.3, 1.0)])
def test_consensus_contracts_by_closed_form(eta, gamma):
    game = ScalarGame()
    found = distances(game, optimizer_for(game, "consensus", lr=eta, gamma=gamma), 20)
    np.testing.assert_allclose(ratios(found), sqrt((1 - eta * gamma) ** 2 + eta**2), rtol=0, atol=1e-6)


def test_consensus_takes_the_authors_gamma_by_default():
    """gamma = 10, the default of --reg-param in LMescheder/TheNumericsOfGANs run.py: with eta = .05 the
    factor is sqrt((1 - .5)^2 + .05^2)."""
    assert DEFAULTS["gamma"] == 10
    game = ScalarGame()
    found = distances(game, optimizer_for(game, "consensus", lr=0.05), 10)
    np.testing.assert_allclose(ratios(found), sqrt(0.5**2 + 0.05**2), rtol=0, atol=1e-12)


@pytest.mark.parametrize("eta, lam", [(0.1, 1.0), (0.3, 0.5)])
def test_sga_contracts_by_closed_form(eta, lam):
    game = ScalarGame()
    found = distances(game, optimizer_for(game, "sga", lr=eta, sga_lambda=lam), 20)
    np.testing.assert_allclose(ratios(found), sqrt((1 - eta * lam) ** 2 + eta**2), rtol=0, atol=1e-6)


@pytest.mark.parametrize("eta, k, alpha", [(0.1, 5, 0.5), (0.3, 3, 0.3)])
def test_lookahead_over_gda_contracts_every_k_steps_by_closed_form(eta, k, alpha):
    game = ScalarGame()
    found = distances(game, optimizer_for(game, "gda", lr=eta, lookahead_k=k, lookahead_alpha=alpha), 10 * k)
    expected = abs(1 - alpha + alpha * (1 + 1j * eta) ** k)
    assert expected < 1 < sqrt(1 + eta**2) ** k  # lookahead turns gda's divergence into convergence here
    np.testing.assert_allclose(ratios(found, every=k), expected, rtol=0, atol=1e-6)


def test_sga_converges_on_the_bilinear_game_where_gda_diverges():
    game = build_toy_game("bilinear", dim=4)
    found = distances(game, optimizer_for(game, "sga", lr=0.2), 400)
    assert found[-1] < 1e-6 * found[0]
    game = build_toy_game("bilinear", dim=4)
    found = distances(game, optimizer_for(game, "gda", lr=0.2), 400)
    assert found[-1] > 10 * found[0]


@pytest.mark.parametrize("name, config", [("cgd", {"lr": 0.5}), ("consensus", {"lr": 0.2, "gamma": 0.5})])
def test_bilinear_game_converges(name, config):
    game = build_toy_game("bilinear", dim=4)
    found = distances(game, optimizer_for(game, name, **config), 400)
    assert found[-1] < 1e-6 * found[0]
    assert np.all(ratios(found[:101]) < 1)  # later the distance reaches rounding level


def zero_sum_bilinear(**options):
    """The toy bilinear game, which declares itself zero-sum (CGD then solves by conjugate gradient)."""
    game = build_toy_game("bilinear", **options)
    assert game.zero_sum
    return game


def undeclared_bilinear(**options):
    """The same game with its declaration taken away (CGD then solves by GMRES, as for a general-sum game)."""
    game = build_toy_game("bilinear", **options)
    game.zero_sum = False
    return game


def test_cgd_conjugate_gradient_solves_the_zero_sum_system_and_counts_its_products():
    game = zero_sum_bilinear(dim=4)
    optimizer = optimizer_for(game, "cgd", lr=0.5, cgd_tol=1e-12, cgd_atol=0.0, cgd_max_iter=50)
    optimizer.step(no_batch)
    assert optimizer.solver == "cg"
    # I + eta^2 A A^T has 4 distinct eigenvalues: CG is exact after at most 4 iterations
    assert 1 <= optimizer.last_solver_iterations <= 4
    assert optimizer.last_solver_residual <= 1e-12
    assert optimizer.grad_evals == 1 + 2 + 2 * optimizer.last_solver_iterations
    # the step is the equilibrium of the local bilinear game, solved densely: x <- x - eta (I + eta^2 A A^T)^-1 (A y' + eta A A^T x')
    game_again = build_toy_game("bilinear", dim=4)
    a, eta = game_again.matrix, 0.5
    x, y = game_again.x - game_again.x_star, game_again.y - game_again.y_star
    identity = torch.eye(4, dtype=a.dtype)
    dx = -eta * torch.linalg.solve(identity + eta**2 * a @ a.T, a @ y + eta * a @ (a.T @ x))
    dy = -eta * torch.linalg.solve(identity + eta**2 * a.T @ a, -a.T @ x + eta * a.T @ (a @ y))
    torch.testing.assert_close(game.x.detach(), game_again.x.detach() + dx, rtol=0, atol=1e-10)
    torch.testing.assert_close(game.y.detach(), game_again.y.detach() + dy, rtol=0, atol=1e-10)


@pytest.mark.parametrize("zero_sum", [True, False])
def test_cgd_stops_the_solver_at_the_iteration_cap(zero_sum):
    game = zero_sum_bilinear(dim=4) if zero_sum else undeclared_bilinear(dim=4)
    optimizer = optimizer_for(game, "cgd", lr=0.5, cgd_tol=1e-14, cgd_max_iter=1)
    with pytest.warns(RuntimeWarning, match="stopped after 1 iterations"):
        optimizer.step(no_batch)
    assert optimizer.solver == ("cg" if zero_sum else "gmres")
    assert optimizer.last_solver_iterations == 1 and optimizer.last_solver_residual > 1e-14
    assert optimizer.grad_evals == 5

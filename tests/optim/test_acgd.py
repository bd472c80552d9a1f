r"""ACGD (``acgd``): CGD whose step sizes are, per parameter entry, :math:`P = \sqrt{1-\beta^t}\,\eta/(\sqrt{v_t}+\epsilon)`
with :math:`v_t = \beta v_{t-1} + (1-\beta)\xi^2` (the authors' ``ACGD``, devzhk/cgds-package, defaults
:math:`\beta = 0.99`, :math:`\epsilon = 10^{-5}`).

On :math:`\min_x\max_y xy` (``ScalarGame``: ``x`` descends :math:`\partial_x(xy) = y`, ``y`` descends
:math:`-x`), a step with step sizes :math:`p_x, p_y` solves :math:`\Delta x = -p_x(y + \Delta y)`,
:math:`\Delta y = p_y(x + \Delta x)`: :math:`(x, y) \mapsto (x - p_x y,\; y + p_y x)/(1 + p_x p_y)`. In the
coordinates :math:`(x/\sqrt{p_x}, y/\sqrt{p_y})` that is a rotation scaled by :math:`1/\sqrt{1 + p_x p_y}`.
"""
from __future__ import annotations

from math import sqrt

import numpy as np
import pytest
import torch

from ali_opt.errors import ConfigError
from ali_opt.toy_games import build_toy_game
from optimizers import DEFAULTS
from tests.helpers.toy_games import BilinearPairGame, ScalarGame, no_batch, optimizer_for

BETA, EPS = 0.99, 1e-5


def xy_step(x: float, y: float, p_x: float, p_y: float) -> tuple[float, float]:
    return (x - p_x * y) / (1 + p_x * p_y), (y + p_y * x) / (1 + p_x * p_y)


def test_the_defaults_are_the_authors():
    assert (DEFAULTS["acgd_beta"], DEFAULTS["acgd_eps"]) == (0.99, 1e-5)


def test_first_iterates_on_xy_by_hand():
    game = ScalarGame(x0=1.0, y0=2.0)
    optimizer = optimizer_for(game, "acgd", lr=0.1)
    found = []
    for _ in range(3):
        optimizer.step(no_batch)
        found.append(game.point())
    # step 1 at (1, 2): gradients (2, -1), v = .01 (4, 1), sqrt(1 - .99) = .1:
    # p_x = .1 * .1 / (.2 + eps), p_y = .1 * .1 / (.1 + eps)
    x1, y1 = xy_step(1.0, 2.0, 0.01 / (0.2 + EPS), 0.01 / (0.1 + EPS))
    # step 2 at (x1, y1): gradients (y1, -x1), v = (.99 * .04 + .01 y1^2, .99 * .01 + .01 x1^2), c = 1 - .99^2
    v_x, v_y = 0.99 * 0.04 + 0.01 * y1**2, 0.99 * 0.01 + 0.01 * x1**2
    c = 1 - 0.99**2
    x2, y2 = xy_step(x1, y1, sqrt(c) * 0.1 / (sqrt(v_x) + EPS), sqrt(c) * 0.1 / (sqrt(v_y) + EPS))
    # step 3 likewise at (x2, y2), c = 1 - .99^3
    v_x, v_y = 0.99 * v_x + 0.01 * y2**2, 0.99 * v_y + 0.01 * x2**2
    c = 1 - 0.99**3
    x3, y3 = xy_step(x2, y2, sqrt(c) * 0.1 / (sqrt(v_x) + EPS), sqrt(c) * 0.1 / (sqrt(v_y) + EPS))
    np.testing.assert_allclose(found, [(x1, y1), (x2, y2), (x3, y3)], rtol=0, atol=1e-12)
    assert [optimizer.rule_states[player]["step"] for player in game.players] == [3, 3]


@pytest.mark.parametrize("lr", [0.5, 1.0])
def test_contracts_on_xy_in_the_norm_of_its_step_sizes(lr):
    game = ScalarGame(x0=1.0, y0=2.0)
    optimizer = optimizer_for(game, "acgd", lr=lr)
    v_x = v_y = 0.0
    found, expected = [], []
    for t in range(1, 31):
        x, y = game.point()
        v_x, v_y = BETA * v_x + (1 - BETA) * y**2, BETA * v_y + (1 - BETA) * x**2
        p_x, p_y = (sqrt(1 - BETA**t) * lr / (sqrt(v) + EPS) for v in (v_x, v_y))
        optimizer.step(no_batch)
        new_x, new_y = game.point()
        found.append(sqrt(new_x**2 / p_x + new_y**2 / p_y) / sqrt(x**2 / p_x + y**2 / p_y))
        expected.append(1 / sqrt(1 + p_x * p_y))
    np.testing.assert_allclose(found, expected, rtol=1e-9)
    assert max(expected) < 1 and game.distance_to_equilibrium() < 1e-2 * sqrt(5)


@pytest.mark.parametrize("zero_sum", [True, False])
def test_each_step_is_the_equilibrium_with_diagonal_step_sizes(zero_sum):
    r"""Player i minimises <xi_i, D_i> + D_i^T J_ij D_j + D_i^T P_i^-1 D_i / 2:
    :math:`\begin{pmatrix} P_a^{-1} & B\\ C & P_b^{-1}\end{pmatrix}\Delta = -\xi`, solved densely, with :math:`P`
    from the second moments tracked here; on a zero-sum game (conjugate gradient) and a general-sum one (GMRES)."""
    game = BilinearPairGame.random(0, dim=2, dim_b=3, mu=0.3, coupling=0.0 if zero_sum else None,
                                   zero_sum=zero_sum)
    optimizer = optimizer_for(game, "acgd", lr=0.2)
    assert optimizer.solver == ("cg" if zero_sum else "gmres")
    moments = [torch.zeros(2, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)]
    for t in range(1, 5):
        with torch.no_grad():
            a, b = game.a.clone(), game.b.clone()
            field = [game.b_matrix @ b + game.mu * a, game.c_matrix @ a + game.mu * b]
            moments = [BETA * v + (1 - BETA) * g**2 for v, g in zip(moments, field)]
            sizes = [sqrt(1 - BETA**t) * 0.2 / (v.sqrt() + EPS) for v in moments]
            system = torch.cat([torch.cat([torch.diag(1 / sizes[0]), game.b_matrix], 1),
                                torch.cat([game.c_matrix, torch.diag(1 / sizes[1])], 1)])
            step = torch.linalg.solve(system, -torch.cat(field))
        optimizer.step(no_batch)
        torch.testing.assert_close(game.a.detach(), a + step[:2], rtol=0, atol=1e-10)
        torch.testing.assert_close(game.b.detach(), b + step[2:], rtol=0, atol=1e-10)


def test_acgd_needs_two_players():
    with pytest.raises(ConfigError, match="acgd needs two players"):
        from optimizers.registry import validate_config
        validate_config({"name": "acgd"}, ("a", "b", "c"))


def test_converges_on_the_bilinear_toy_game():
    game = build_toy_game("bilinear", dim=4)
    optimizer = optimizer_for(game, "acgd", lr=0.5)
    start = game.distance_to_equilibrium()
    for _ in range(200):
        optimizer.step(no_batch)
    assert game.distance_to_equilibrium() < 1e-6 * start

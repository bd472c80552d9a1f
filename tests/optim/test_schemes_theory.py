r"""The schemes' known convergence behaviour, with SGD and a fixed step size :math:`\eta`.

On :math:`\min_x\max_y xy` write :math:`z = x + iy`: a gradient step :math:`(x - \eta y, y + \eta x)`
is :math:`z \mapsto (1 + i\eta)z`. Hence

- simultaneous GDA: :math:`z_{t+1} = (1 + i\eta) z_t`, growth :math:`\sqrt{1 + \eta^2}` every step;
- extragradient: :math:`z_{t+1} = z_t + i\eta(1 + i\eta)z_t = (1 - \eta^2 + i\eta)z_t`, contraction
  :math:`\sqrt{(1-\eta^2)^2 + \eta^2} = \sqrt{1 - \eta^2 + \eta^4}` every step;
- optimistic GDA: :math:`z_{t+1} = z_t + 2i\eta z_t - i\eta z_{t-1}`, so :math:`z_t = a\lambda_+^t + b\lambda_-^t`
  with :math:`\lambda^2 - (1 + 2i\eta)\lambda + i\eta = 0`. The discriminant is
  :math:`(1 + 2i\eta)^2 - 4i\eta = 1 - 4\eta^2`, so for :math:`\eta < 1/2`,
  :math:`\lambda_\pm = \tfrac12(1 \pm \sqrt{1 - 4\eta^2}) + i\eta` and, using
  :math:`\eta^2 = \tfrac14(1 - (1 - 4\eta^2))`,
  :math:`|\lambda_\pm|^2 = \tfrac12(1 \pm \sqrt{1 - 4\eta^2})`. :math:`|z_{t+1}|/|z_t| \to |\lambda_+|`
  geometrically fast (ratio :math:`|\lambda_-/\lambda_+|`);
- past extragradient: with a linear step map :math:`u`, :math:`\theta_{t+1} = \theta_t + u(\theta_t + u_{t-1})
  = \theta_t + u(\theta_t) + u(\theta_t - \theta_{t-1})`, the optimistic recursion, so the same rate;
- alternating GDA (``y`` first): :math:`y' = y + \eta x,\ x' = x - \eta y'`, the matrix
  :math:`\begin{pmatrix}1-\eta^2 & -\eta\\ \eta & 1\end{pmatrix}` on :math:`(x, y)` has determinant 1 and trace
  :math:`2 - \eta^2`, so for :math:`0 < \eta < 2` its eigenvalues are :math:`e^{\pm i\omega}`: spectral radius 1.
  Expanding :math:`Q(x', y')` with :math:`x' = x - \eta y'` and then :math:`y' = y + \eta x` shows that
  :math:`Q = x^2 + y^2 + \eta xy` is conserved (:math:`Q = |\bar x|^2 + |\bar y|^2 + \eta\bar x^\top A\bar y`
  for the bilinear game); it is positive definite for :math:`\eta\|A\| < 2`, so
  :math:`|z|^2 \in [Q/(1 + \eta\|A\|/2),\ Q/(1 - \eta\|A\|/2)]` for ever: bounded, never converging.

The bilinear game :math:`(x-x^*)^\top A(y-y^*)` splits into the singular planes of :math:`A`, each the
scalar game with step :math:`\eta s_i`. Simultaneous and extragradient iteration matrices are normal,
so each step scales the distance by a factor between their values at :math:`s_{\min}` and :math:`s_{\max}`.
"""
from __future__ import annotations

from math import sqrt

import numpy as np
import pytest
import torch

from ali_opt.toy_games import build_toy_game
from tests.helpers.toy_games import ScalarGame, distances, no_batch, optimizer_for

ETA = 0.2
CONVERGENT = ("extragradient", "past_extragradient", "optimistic")


def gda_rate(eta: float) -> float:
    """Simultaneous GDA's growth per step on the scalar game."""
    return sqrt(1 + eta**2)


def extragradient_rate(eta: float) -> float:
    """Extragradient's contraction per step on the scalar game."""
    return sqrt(1 - eta**2 + eta**4)


def optimistic_rate(eta: float) -> float:
    r"""Optimism's asymptotic contraction: :math:`|\lambda_+|`, for :math:`\eta < 1/2`."""
    return sqrt((1 + sqrt(1 - 4 * eta**2)) / 2)


def step_ratios(found: list[float]) -> np.ndarray:
    return np.array(found[1:]) / np.array(found[:-1])


def asymptotic_rate(found: list[float], window: int = 100) -> float:
    """The mean per-step ratio over the last ``window`` steps."""
    return (found[-1] / found[-1 - window]) ** (1 / window)


def singular_value_range(game) -> tuple[float, float]:
    values = torch.linalg.svdvals(game.matrix)
    return values.min().item(), values.max().item()


def alternating_energy(game, eta: float) -> float:
    x, y = game.x - game.x_star, game.y - game.y_star
    return (x @ x + y @ y + eta * x @ game.matrix @ y).item()


# -- the scalar game min_x max_y xy: closed forms -----------------------------------------------
@pytest.mark.parametrize("eta", [0.1, 0.3])
@pytest.mark.parametrize("name, rate", [("gda", gda_rate), ("extragradient", extragradient_rate)])
def test_scalar_game_one_step_schemes_scale_every_step_by_closed_form(name, rate, eta):
    game = ScalarGame()
    np.testing.assert_allclose(step_ratios(distances(game, optimizer_for(game, name, lr=eta), 20)), rate(eta),
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize("eta", [0.1, 0.3])
@pytest.mark.parametrize("name", ["optimistic", "past_extragradient"])
def test_scalar_game_optimistic_schemes_contract_at_largest_root_modulus(name, eta):
    game = ScalarGame()
    found = distances(game, optimizer_for(game, name, lr=eta), 40)
    assert found[-1] / found[-2] == pytest.approx(optimistic_rate(eta), abs=1e-6)


@pytest.mark.parametrize("eta", [0.1, 0.3, 1.5])
def test_scalar_game_alternating_gda_conserves_energy_and_cycles(eta):
    game = ScalarGame()
    optimizer = optimizer_for(game, "alt_gda", lr=eta)
    energy = 1 + 4 + eta * 2  # Q = x^2 + y^2 + eta xy at (1, 2)
    for _ in range(500):
        optimizer.step(no_batch)
        x, y = game.point()
        assert x**2 + y**2 + eta * x * y == pytest.approx(energy, rel=1e-10)
        assert energy / (1 + eta / 2) * (1 - 1e-9) <= x**2 + y**2 <= energy / (1 - eta / 2) * (1 + 1e-9)


# -- the bilinear game ------------------------------------------------------------------------
@pytest.fixture
def bilinear():
    return build_toy_game("bilinear", dim=4, seed=0)


def test_bilinear_gda_distance_grows_every_step(bilinear):
    low, high = singular_value_range(bilinear)
    ratios = step_ratios(distances(bilinear, optimizer_for(bilinear, "gda", lr=ETA), 200))
    assert np.all(ratios >= gda_rate(ETA * low) - 1e-12)
    assert np.all(ratios <= gda_rate(ETA * high) + 1e-12)


def test_bilinear_alternating_gda_stays_bounded_without_converging(bilinear):
    optimizer = optimizer_for(bilinear, "alt_gda", lr=ETA)
    _, high = singular_value_range(bilinear)
    energy = alternating_energy(bilinear, ETA)
    for _ in range(500):
        optimizer.step(no_batch)
        assert alternating_energy(bilinear, ETA) == pytest.approx(energy, rel=1e-10)
        squared = bilinear.distance_to_equilibrium() ** 2
        assert energy / (1 + ETA * high / 2) * (1 - 1e-9) <= squared <= energy / (1 - ETA * high / 2) * (1 + 1e-9)


def test_bilinear_extragradient_contracts_every_step_within_closed_form_bounds(bilinear):
    low, high = singular_value_range(bilinear)
    ratios = step_ratios(distances(bilinear, optimizer_for(bilinear, "extragradient", lr=ETA), 300))
    # 1 - a + a^2 decreases for a = (eta s)^2 < 1/2: the slowest plane is s_min's
    assert np.all(ratios <= extragradient_rate(ETA * low) + 1e-12)
    assert np.all(ratios >= extragradient_rate(ETA * high) - 1e-12)


@pytest.mark.parametrize("name, rate", [
    ("extragradient", extragradient_rate), ("past_extragradient", optimistic_rate), ("optimistic", optimistic_rate),
])
def test_bilinear_converges_linearly_at_slowest_plane_rate(bilinear, name, rate):
    found = distances(bilinear, optimizer_for(bilinear, name, lr=ETA), 1000)
    low, _ = singular_value_range(bilinear)
    assert found[-1] < 1e-8 * found[0]
    # geometric: the per-step ratio settles to the slowest singular plane's closed-form rate
    assert asymptotic_rate(found) == pytest.approx(rate(ETA * low), abs=1e-6)
    assert asymptotic_rate(found[:601]) == pytest.approx(rate(ETA * low), abs=1e-4)


# -- the strongly monotone quadratic game -------------------------------------------------------
@pytest.mark.parametrize("name", ["gda", "alt_gda", *CONVERGENT])
def test_quadratic_game_sgd_schemes_converge_linearly(name):
    """Constant-step Adam is left out: its normalised steps keep it hovering around the equilibrium."""
    game = build_toy_game("quadratic", dim=4, mu=0.5)
    found = distances(game, optimizer_for(game, name, lr=0.1), 600)
    assert found[-1] < 1e-6 * found[0]
    assert asymptotic_rate(found[:301]) < 0.98 and asymptotic_rate(found) < 0.98


def test_quadratic_game_gda_contracts_by_closed_form():
    # in one dimension (A = a = +-1) and with z = x_bar + i y_bar (up to the sign of a), a step is
    # z <- (1 - eta mu + i eta a) z: factor sqrt((1 - eta mu)^2 + eta^2)
    eta, mu = 0.1, 0.5
    game = build_toy_game("quadratic", dim=1, mu=mu)
    ratios = step_ratios(distances(game, optimizer_for(game, "gda", lr=eta), 50))
    np.testing.assert_allclose(ratios, sqrt((1 - eta * mu) ** 2 + eta**2), rtol=0, atol=1e-12)


# -- Dirac-GAN ----------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["non_saturating", "minimax"])
@pytest.mark.parametrize("name", CONVERGENT)
def test_dirac_gan_extragradient_and_optimism_reach_equilibrium(name, loss):
    game = build_toy_game("dirac", loss=loss, theta0=1.0, psi0=1.0)
    assert distances(game, optimizer_for(game, name, lr=0.5), 600)[-1] < 1e-6


@pytest.mark.parametrize("loss", ["non_saturating", "minimax"])
def test_dirac_gan_simultaneous_gda_moves_away(loss):
    # near (0, 0) the update map is I + (eta/2) [[0, -1], [1, 0]]: eigenvalue modulus sqrt(1 + eta^2/4) > 1
    game = build_toy_game("dirac", loss=loss, theta0=0.01, psi0=0.01)
    found = distances(game, optimizer_for(game, "gda", lr=0.5), 100)
    assert np.all(step_ratios(found) > 1)
    assert found[-1] > 10 * found[0]

"""Eigenvalues of the game's Jacobian against closed forms; ARPACK against the dense path; nothing disturbed."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ali_opt.ali import ALIGame
from ali_opt.errors import ConfigError
from ali_opt.models import build_models
from ali_opt.game import Game, GameOutput
from ali_opt.spectrum import game_eigenvalues, logged_spectrum, spectrum_scalars
from ali_opt.toy_games import build_toy_game


def sorted_by_imaginary(values) -> np.ndarray:
    values = np.asarray(values)
    return values[np.lexsort((values.real.round(9), values.imag.round(9)))]


@pytest.mark.parametrize("method, products", [("dense", "vjp"), ("arpack", "vjp"), ("arpack", "jvp")])
def test_bilinear_eigenvalues_are_plus_minus_i_times_singular_values(method, products):
    # J = [[0, A], [-A^T, 0]] (players y, x): eigenvalues +-i s for the singular values s of A
    game = build_toy_game("bilinear", dim=8, seed=3)
    singular = torch.linalg.svdvals(game.matrix).numpy()  # descending
    found = game_eigenvalues(game, None, k=6, method=method, products=products)
    expected = np.concatenate([1j * singular[:3], -1j * singular[:3]])
    np.testing.assert_allclose(sorted_by_imaginary(found), sorted_by_imaginary(expected), rtol=0, atol=1e-6)


@pytest.mark.parametrize("method", ["dense", "arpack"])
def test_quadratic_eigenvalues_are_mu_plus_minus_i_times_singular_values(method):
    game = build_toy_game("quadratic", dim=8, mu=0.3, seed=1)
    singular = torch.linalg.svdvals(game.matrix).numpy()
    found = game_eigenvalues(game, None, k=4, which="LI", method=method)
    # LI: the largest |imaginary parts|, 0.3 +- i s for the two largest s
    expected = np.array([0.3 + 1j * singular[0], 0.3 - 1j * singular[0], 0.3 + 1j * singular[1], 0.3 - 1j * singular[1]])
    np.testing.assert_allclose(sorted_by_imaginary(found), sorted_by_imaginary(expected), rtol=0, atol=1e-6)
    every = game_eigenvalues(game, None, k=16, method="dense")
    expected = np.concatenate([0.3 + 1j * singular, 0.3 - 1j * singular])
    np.testing.assert_allclose(sorted_by_imaginary(every), sorted_by_imaginary(expected), rtol=0, atol=1e-6)


@pytest.mark.parametrize("loss", ["non_saturating", "minimax"])
def test_dirac_gan_eigenvalues_at_equilibrium_are_purely_imaginary(loss):
    # at (0, 0) the Jacobian is s'(0) [[0, 1], [-1, 0]] with s'(0) = sigmoid(0) = 1/2: eigenvalues +-i/2
    game = build_toy_game("dirac", loss=loss, theta0=0.0, psi0=0.0)
    found = game_eigenvalues(game, None, k=2)
    np.testing.assert_allclose(sorted_by_imaginary(found), [-0.5j, 0.5j], rtol=0, atol=1e-12)


@pytest.mark.parametrize("which", ["LM", "SR"])
def test_arpack_and_dense_agree_on_a_nonlinear_game(which):
    game = build_toy_game("mixture", hidden=6, batch_size=16)
    batch = game.sample_batch(torch.Generator().manual_seed(0))
    dense = game_eigenvalues(game, batch, k=4, which=which, method="dense")
    for products in ("vjp", "jvp"):
        found = game_eigenvalues(game, batch, k=4, which=which, method="arpack", products=products)
        key = {"LM": np.abs, "LR": np.real, "SR": np.real}[which]
        np.testing.assert_allclose(key(found), key(dense), rtol=0, atol=1e-5)
    assert dense.products == sum(p.numel() for p in game.parameters())


def test_ali_spectrum_is_deterministic_and_disturbs_nothing():
    torch.manual_seed(0)
    models = build_models("cifar32", width=1 / 16)
    game = ALIGame(models.encoder, models.decoder, models.discriminator, models.latent_shape)
    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    parameters = {name: p.detach().clone() for name, p in game.named_parameters()}
    buffers = {name: b.clone() for name, b in game.named_buffers()}
    rng = torch.get_rng_state()
    first = game_eigenvalues(game, x, k=2, tol=1e-3)
    second = game_eigenvalues(game, x, k=2, tol=1e-3)
    np.testing.assert_allclose(first, second, rtol=1e-6)
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(b, buffers[name]) for name, b in game.named_buffers())
    assert all(torch.equal(p, parameters[name]) for name, p in game.named_parameters())
    assert first.products > 0


def test_spectrum_scalars():
    scalars = spectrum_scalars(np.array([1 + 2j, 1 - 2j, -3 + 0j]), np.array([0.5 + 4j, 0.5 - 4j]))
    assert scalars["eig_max_abs"] == 3 and scalars["eig_max_real"] == 1 and scalars["eig_min_real"] == -3
    assert scalars["eig_imag_1"] == -2 and scalars["eig_real_2"] == -3
    assert scalars["eig_rotation"] == 8 and scalars["eig_max_imag"] == 4 and scalars["eig_li_imag_1"] == -4
    assert "eig_rotation" not in spectrum_scalars(np.array([1 + 2j]))  # no rotation from the largest moduli


class StiffRotatingGame(Game):
    r"""A linear game whose Jacobian has the stiff real eigenvalues 10 and 9 and the rotating pair
    :math:`0.1 \pm 2i`: player x = (a, b, u) minimises :math:`5a^2 + 4.5b^2 + 0.05u^2 + 2uv`, player y = v
    minimises :math:`0.05v^2 - 2uv`."""

    players = ("x", "y")

    def __init__(self):
        super().__init__()
        self.x = torch.nn.Parameter(torch.tensor([1.0, -0.5, 0.3], dtype=torch.float64))
        self.y = torch.nn.Parameter(torch.tensor([0.7], dtype=torch.float64))

    def player_of(self, parameter_name: str) -> str:
        return parameter_name

    def forward(self, batch) -> GameOutput:
        (a, b, u), (v,) = self.x, self.y
        return GameOutput({"x": 5 * a**2 + 4.5 * b**2 + 0.05 * u**2 + 2 * u * v, "y": 0.05 * v**2 - 2 * u * v})


@pytest.mark.parametrize("method", ["dense", "arpack"])
def test_the_logged_rotation_comes_from_the_largest_imaginary_parts(method):
    """LM finds the stiff real eigenvalues 10 and 9 (no rotation at all); LI finds 0.1 +- 2i, whose
    rotation |Im|/|Re| = 20 is what a run logs, beside the LM eigenvalues."""
    game = StiffRotatingGame()
    largest = game_eigenvalues(game, None, k=2, which="LM", method=method)
    np.testing.assert_allclose(largest, [10, 9], rtol=0, atol=1e-9)
    rotating = game_eigenvalues(game, None, k=2, which="LI", method=method)
    np.testing.assert_allclose(sorted_by_imaginary(rotating), [0.1 - 2j, 0.1 + 2j], rtol=0, atol=1e-9)
    assert spectrum_scalars(largest)["eig_max_abs"] == pytest.approx(10)
    if method == "arpack":
        return
    scalars = logged_spectrum(game, None, k=2)
    assert scalars["eig_rotation"] == pytest.approx(20) and scalars["eig_max_imag"] == pytest.approx(2)
    assert scalars["eig_max_abs"] == pytest.approx(10) and scalars["eig_real_1"] == pytest.approx(9)
    assert sorted([scalars["eig_li_imag_0"], scalars["eig_li_imag_1"]]) == pytest.approx([-2, 2])
    assert scalars["eig_products"] == 2 * 4  # two dense Jacobians of four parameters


@pytest.mark.parametrize("arguments, message", [
    ({"which": "XX"}, "which='XX' is not valid; choose one of: LM"),
    ({"k": 20, "method": "dense"}, "k=20 is not valid for a game with 16 parameters"),
    ({"k": 15, "method": "arpack"}, "ARPACK needs k < 15"),
    ({"products": "hessian"}, "products='hessian' is not valid"),
])
def test_bad_arguments_are_refused(arguments, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        game_eigenvalues(build_toy_game("bilinear", dim=8), None, **arguments)

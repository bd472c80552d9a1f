"""The toy games: losses and gradients at chosen points against hand values, ownership, distances, options."""
from __future__ import annotations

import math

import pytest
import torch

from ali_opt.errors import ConfigError
from ali_opt.toy_games import (
    TOY_GAMES, BilinearGame, DiracGAN, MixtureGAN, QuadraticGame, build_toy_game, toy_game_options,
)
from ali_opt.toy_games.mixture import MMD_BANDWIDTHS
from ali_opt.toy_games.mmd import gaussian_mmd


def assert_own_gradients(game, expected: dict[str, list[float]], tolerance: float = 1e-12) -> None:
    """Each parameter's gradient of its owner's loss equals ``expected[parameter name]``."""
    losses = game(game.sample_batch(torch.Generator().manual_seed(0))).losses
    assert [name for name, _ in game.named_parameters()] == list(expected)
    for name, parameter in game.named_parameters():
        gradient = torch.autograd.grad(losses[game.player_of(name)], parameter, retain_graph=True)[0]
        assert gradient.flatten().tolist() == pytest.approx(expected[name], abs=tolerance), name


def set_bilinear(game, *, matrix, x_star, y_star, x, y):
    with torch.no_grad():
        for tensor, value in [(game.matrix, matrix), (game.x_star, x_star), (game.y_star, y_star),
                              (game.x, x), (game.y, y)]:
            tensor.copy_(torch.tensor(value))


# A = [[1, 2], [0, 1]], x - x* = (1, 1), y - y* = (1, 2): A(y - y*) = (5, 2), A^T(x - x*) = (1, 3)
HAND_POINT = {"matrix": [[1.0, 2.0], [0.0, 1.0]], "x_star": [1.0, 0.0], "y_star": [0.0, 1.0],
              "x": [2.0, 1.0], "y": [1.0, 3.0]}


def test_bilinear_losses_and_gradients_by_hand():
    game = build_toy_game("bilinear", dim=2)
    set_bilinear(game, **HAND_POINT)
    # f = (1, 1) . (5, 2) = 7; x descends A(y - y*), y descends -A^T(x - x*)
    losses = game().losses
    assert (losses["x"].item(), losses["y"].item()) == (7.0, -7.0)
    assert_own_gradients(game, {"x": [5.0, 2.0], "y": [-1.0, -3.0]})
    assert game.distance_to_equilibrium() == pytest.approx(math.sqrt(2 + 5))


def test_quadratic_losses_and_gradients_by_hand():
    game = build_toy_game("quadratic", dim=2, mu=0.5)
    set_bilinear(game, **HAND_POINT)
    # f = 7 + .25 (|(1, 1)|^2 - |(1, 2)|^2) = 6.25; x: (5, 2) + .5 (1, 1); y: -(1, 3) + .5 (1, 2)
    assert game().losses["x"].item() == pytest.approx(6.25)
    assert_own_gradients(game, {"x": [5.5, 2.5], "y": [-0.5, -2.0]})


@pytest.mark.parametrize("name", ["bilinear", "quadratic"])
def test_bilinear_games_draw_matrix_and_equilibrium_from_seed(name):
    game = build_toy_game(name, dim=5, seed=3)
    torch.testing.assert_close(torch.linalg.svdvals(game.matrix), torch.linspace(2, 1, 5, dtype=torch.float64))
    assert torch.equal(game.x, torch.zeros(5, dtype=torch.float64))
    assert game.distance_to_equilibrium() == pytest.approx(torch.cat([game.x_star, game.y_star]).norm().item())
    again, other = build_toy_game(name, dim=5, seed=3), build_toy_game(name, dim=5, seed=4)
    assert torch.equal(game.matrix, again.matrix) and torch.equal(game.x_star, again.x_star)
    assert not torch.equal(game.x_star, other.x_star)
    with torch.no_grad():
        game.x.copy_(game.x_star)
        game.y.copy_(game.y_star)
    assert game.distance_to_equilibrium() == 0.0
    assert_own_gradients(game, {"x": [0.0] * 5, "y": [0.0] * 5})


def test_float32_option():
    game = build_toy_game("bilinear", dim=3, dtype="float32")
    assert {t.dtype for t in [*game.parameters(), *game.buffers()]} == {torch.float32}


@pytest.mark.parametrize("loss, generator_loss, generator_gradient", [
    # at theta = 1, psi = 2: s(-2) = .126928..., -sigma(-2) psi = -.119202... * 2
    ("non_saturating", 0.12692801104297263, -0.2384058440442351),
    # -s(2) = -2.126928..., -sigma(2) psi = -.880797... * 2
    ("minimax", -2.1269280110429727, -1.7615941559557646),
])
def test_dirac_gan_losses_and_gradients_by_hand(loss, generator_loss, generator_gradient):
    game = build_toy_game("dirac", loss=loss, theta0=1.0, psi0=2.0)
    losses = game().losses
    # discriminator: s(-0) + s(2) = log 2 + 2.126928...; d/dpsi = sigma(2) theta = .880797...
    assert losses["psi"].item() == pytest.approx(math.log(2) + 2.1269280110429727, abs=1e-12)
    assert losses["theta"].item() == pytest.approx(generator_loss, abs=1e-12)
    assert_own_gradients(game, {"theta": [generator_gradient], "psi": [0.8807970779778823]})
    assert game.distance_to_equilibrium() == pytest.approx(math.sqrt(5))


@pytest.mark.parametrize("loss", ["non_saturating", "minimax"])
def test_dirac_gan_equilibrium_is_stationary(loss):
    game = build_toy_game("dirac", loss=loss, theta0=0.0, psi0=0.0)
    assert game.distance_to_equilibrium() == 0.0
    assert_own_gradients(game, {"theta": [0.0], "psi": [0.0]})


@pytest.mark.parametrize("game_class, owners", [
    (BilinearGame, {"y": ["y"], "x": ["x"]}),
    (QuadraticGame, {"y": ["y"], "x": ["x"]}),
    (DiracGAN, {"psi": ["psi"], "theta": ["theta"]}),
])
def test_players_own_their_parameters_maximising_player_first(game_class, owners):
    game = game_class()
    parameters = game.player_parameters()
    assert tuple(parameters) == game.players == tuple(owners)
    assert {player: list(named) for player, named in parameters.items()} == owners


@pytest.mark.parametrize("name, options, zero_sum, total", [
    ("bilinear", {}, True, 0.0),
    ("quadratic", {}, True, 0.0),
    ("dirac", {"loss": "minimax"}, True, math.log(2)),  # s(-psi * 0): a term of psi alone
    ("dirac", {"loss": "non_saturating"}, False, None),
    ("mixture", {"kind": "grid", "batch_size": 16, "hidden": 8}, False, None),
])
def test_zero_sum_declarations_hold_at_random_points(name, options, zero_sum, total):
    """A game declaring zero_sum (CGD then solves by CG) has losses summing to a constant; its mixed second
    derivatives of the sum vanish. The undeclared ones do not: there they do not vanish."""
    game = build_toy_game(name, **options)
    assert game.zero_sum is zero_sum
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):
        with torch.no_grad():
            for parameter in game.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))
        losses = game(game.sample_batch(generator)).losses
        first, second = game.players
        params = {player: list(named.values()) for player, named in game.player_parameters().items()}
        grads = torch.autograd.grad(sum(losses.values()), params[first], create_graph=True)
        # the mixed second derivatives of the sum along a random direction u of the first player:
        # the gradient of <grad_first(sum), u> with respect to the second player's parameters
        u = [torch.randn(g.shape, generator=generator, dtype=g.dtype) for g in grads]
        projected = sum((g * direction).sum() for g, direction in zip(grads, u))
        found = torch.autograd.grad(projected, params[second], allow_unused=True)
        mixed = torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(found, params[second])])
        if zero_sum:
            assert sum(losses.values()).item() == pytest.approx(total, abs=1e-12)
            assert mixed.abs().max().item() < 1e-12
        else:
            assert mixed.abs().max().item() > 1e-3


def set_constant_discriminator(game: MixtureGAN, logit: float) -> None:
    """Make D output ``logit`` everywhere: its last layer's weights 0, its bias ``logit``."""
    last = game.discriminator[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(logit)


def test_mixture_losses_and_gradients_by_hand():
    game = build_toy_game("mixture", kind="grid", batch_size=16, hidden=8)
    batch = game.sample_batch(torch.Generator().manual_seed(0))
    set_constant_discriminator(game, 0.0)
    # D = 0: l_D = s(0) + s(0) = 2 log 2, l_G = s(0) = log 2, and D ignores G: no generator gradient
    losses = game(batch).losses
    assert losses["discriminator"].item() == pytest.approx(2 * math.log(2))
    assert losses["generator"].item() == pytest.approx(math.log(2))
    generator_grads = torch.autograd.grad(losses["generator"], list(game.generator.parameters()))
    assert all(not g.any() for g in generator_grads)
    set_constant_discriminator(game, 1.0)
    # D = 1: d l_D / d bias = -sigma(-1) + sigma(1) = tanh(1/2)
    bias_gradient = torch.autograd.grad(game(batch).losses["discriminator"], game.discriminator[-1].bias)[0]
    assert bias_gradient.item() == pytest.approx(math.tanh(0.5), rel=1e-6)


def test_mixture_batches_and_ownership():
    game = build_toy_game("mixture", kind="ring", batch_size=32, hidden=16)
    data, latent = game.sample_batch(torch.Generator().manual_seed(5))
    again, _ = game.sample_batch(torch.Generator().manual_seed(5))
    assert data.shape == latent.shape == (32, 2) and torch.equal(data, again)
    # ring modes lie at radius 2 with standard deviation 0.02
    assert torch.allclose(data.norm(dim=1), torch.full((32,), 2.0), atol=0.1)
    owners = {player: sorted({name.split(".")[0] for name in named})
              for player, named in game.player_parameters().items()}
    assert owners == {"discriminator": ["discriminator"], "generator": ["generator"]}
    assert game.players[0] == "discriminator"


def test_mixture_distance_is_the_mmd_of_fixed_samples():
    game, same = build_toy_game("mixture", seed=2), build_toy_game("mixture", seed=2)
    with torch.no_grad():
        expected = gaussian_mmd(game.generator(game.eval_latent), game.eval_data, MMD_BANDWIDTHS).item()
    assert game.distance_to_equilibrium() == expected == same.distance_to_equilibrium()
    last = game.generator[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(100.0)
    # every generated point at (100, 100): k(fake, data) = 0, k(fake, fake) = 1, so MMD^2 = 1 + mean k(data, data)
    assert game.distance_to_equilibrium() > 1


def test_build_toy_game_builds_each_game_with_its_options():
    assert set(TOY_GAMES) == {"bilinear", "quadratic", "dirac", "mixture"}
    for name, game_class in TOY_GAMES.items():
        assert type(build_toy_game(name)) is game_class
    assert toy_game_options("quadratic") == {"dim": 4, "seed": 0, "mu": 0.5, "dtype": "float64"}
    assert build_toy_game("quadratic", mu=0.25, dim=2).mu == 0.25


@pytest.mark.parametrize("name, options, mentioned", [
    ("circle", {}, ["game='circle'", "bilinear", "quadratic", "dirac"]),
    ("bilinear", {"dimension": 3}, ["game_options.dimension=3", "dim", "seed", "dtype"]),
    ("bilinear", {"dim": 0}, ["game_options.dim=0", "positive integer"]),
    ("bilinear", {"dim": 2.5}, ["game_options.dim=2.5", "positive integer"]),
    ("bilinear", {"seed": -1}, ["game_options.seed=-1", "integer >= 0"]),
    ("bilinear", {"dtype": "float16"}, ["game_options.dtype='float16'", "float32", "float64"]),
    ("quadratic", {"mu": 0}, ["game_options.mu=0", "positive number"]),
    ("quadratic", {"mu": "big"}, ["game_options.mu='big'", "positive number"]),
    ("dirac", {"loss": "wasserstein"}, ["game_options.loss='wasserstein'", "non_saturating", "minimax"]),
    ("dirac", {"theta0": math.inf}, ["game_options.theta0=inf", "finite number"]),
    ("dirac", {"psi0": None}, ["game_options.psi0=None", "finite number"]),
    ("mixture", {"kind": "spiral"}, ["game_options.kind='spiral'", "ring", "grid"]),
    ("mixture", {"batch_size": 0}, ["game_options.batch_size=0", "positive integer"]),
    ("mixture", {"dim": 2}, ["game_options.dim=2", "kind", "batch_size", "hidden", "seed", "eval_size"]),
])
def test_bad_options_name_key_value_and_valid_choices(name, options, mentioned):
    with pytest.raises(ConfigError) as error:
        build_toy_game(name, **options)
    for text in mentioned:
        assert text in str(error.value)


def test_gaussian_mmd_by_hand():
    first, second = torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]])
    # one point each: MMD^2 = k(a, a) + k(b, b) - 2 k(a, b) = 2 - 2 exp(-25 / (2 * 25))
    assert gaussian_mmd(first, second, [5.0]).item() == pytest.approx(math.sqrt(2 - 2 * math.exp(-0.5)), rel=1e-6)
    # two bandwidths average their kernels: k(a, b) = (exp(-25/2) + exp(-1/2)) / 2
    two = (math.exp(-12.5) + math.exp(-0.5)) / 2
    assert gaussian_mmd(first, second, [1.0, 5.0]).item() == pytest.approx(math.sqrt(2 - 2 * two), rel=1e-6)


def test_gaussian_mmd_is_zero_for_equal_samples_and_symmetric():
    points = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    shifted = points + torch.tensor([0.5, 0.0])
    assert gaussian_mmd(points, points.flip(0), [0.1, 1.0]).item() == pytest.approx(0.0, abs=1e-6)
    assert gaussian_mmd(points, shifted, [0.1, 1.0]).item() > 0.1
    assert gaussian_mmd(points, shifted, [1.0]).item() == pytest.approx(gaussian_mmd(shifted, points, [1.0]).item())

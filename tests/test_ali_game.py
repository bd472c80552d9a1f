"""The ALI game: losses against the formulas, ownership of parameters, torch.func compatibility."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ali_opt.ali import EQUILIBRIUM_LOSS, ALIBatch, ALIGame
from ali_opt.errors import ConfigError
from ali_opt.models import build_models


class FixedEncoder(nn.Module):
    """mu = x, log sigma = log 0.5: z_hat = x + eps / 2."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x):
        return self.scale * x, torch.full_like(x, math.log(0.5))


class LinearDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.tensor(2.0))

    def forward(self, z):
        return self.weight * z


class SumDiscriminator(nn.Module):
    """D(x, z) = a * x + b * z for scalars x and z."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Parameter(torch.tensor(0.3)), nn.Parameter(torch.tensor(-0.7))

    def forward(self, x, z):
        return (self.a * x + self.b * z).flatten()


def scalar_game(loss="non_saturating") -> ALIGame:
    return ALIGame(FixedEncoder(), LinearDecoder(), SumDiscriminator(), latent_shape=(1,), loss=loss)


@pytest.mark.parametrize("loss", ["non_saturating", "minimax"])
def test_losses_follow_the_formulas(loss):
    game = scalar_game(loss)
    x = torch.tensor([[1.0], [-2.0], [0.5]])
    torch.manual_seed(3)
    output = game(x)
    torch.manual_seed(3)
    eps, z = torch.randn(3, 1), torch.randn(3, 1)
    real = (0.3 * x + -0.7 * (x + 0.5 * eps)).flatten()
    fake = (0.3 * (2.0 * z) + -0.7 * z).flatten()
    loss_d = F.softplus(-real).mean() + F.softplus(fake).mean()
    loss_g = F.softplus(real).mean() + F.softplus(-fake).mean() if loss == "non_saturating" else -loss_d
    assert torch.allclose(output.losses["d"], loss_d)
    assert torch.allclose(output.losses["g"], loss_g)
    assert torch.allclose(output.metrics["d_real"], torch.sigmoid(real).mean())
    assert torch.allclose(output.metrics["d_fake"], torch.sigmoid(fake).mean())


def test_players_own_their_modules():
    owned = scalar_game().player_parameters()
    assert set(owned["d"]) == {"discriminator.a", "discriminator.b"}
    assert set(owned["g"]) == {"encoder.scale", "decoder.weight"}


def test_unknown_loss_is_refused():
    with pytest.raises(ConfigError, match="loss='wgan' is not valid; choose one of: non_saturating, minimax"):
        scalar_game("wgan")


def test_paper_model_starts_at_the_equilibrium_loss():
    torch.manual_seed(0)
    models = build_models("cifar32", width=0.125)
    game = ALIGame(models.encoder, models.decoder, models.discriminator, models.latent_shape)
    output = game(torch.rand(8, 3, 32, 32))
    assert output.losses["d"].item() == pytest.approx(EQUILIBRIUM_LOSS, abs=1e-3)
    assert output.losses["g"].item() == pytest.approx(EQUILIBRIUM_LOSS, abs=1e-3)


def test_functional_call_and_grad_apply_to_the_game():
    """A game is a Module: torch.func evaluates it from explicit parameters and buffers."""
    torch.manual_seed(0)
    models = build_models("cifar32", width=0.125)
    game = ALIGame(models.encoder, models.decoder, models.discriminator, models.latent_shape).eval()
    x = torch.rand(4, 3, 32, 32)
    params = {name: p.detach() for name, p in game.named_parameters()}
    buffers = dict(game.named_buffers())
    d_names = list(game.player_parameters()["d"])

    def loss_d(d_params):
        torch.manual_seed(1)
        return torch.func.functional_call(game, ({**params, **d_params}, buffers), (x,)).losses["d"]

    grads = torch.func.grad(loss_d)({name: params[name] for name in d_names})
    torch.manual_seed(1)
    expected = torch.autograd.grad(game(x).losses["d"], [dict(game.named_parameters())[n] for n in d_names])
    for name, g in zip(d_names, expected):
        assert torch.allclose(grads[name], g, atol=1e-7), name


def small_paper_game() -> ALIGame:
    """cifar32 at 1/8 width: batch norm in the encoder and decoder, dropout in the discriminator."""
    torch.manual_seed(0)
    models = build_models("cifar32", width=0.125, pixel_mean=0.4)
    return ALIGame(models.encoder, models.decoder, models.discriminator, models.latent_shape)


def losses_and_gradients(game: ALIGame, batch) -> list[torch.Tensor]:
    output = game(batch)
    found = list(output.losses.values())
    for player, params in game.player_parameters().items():
        found += torch.autograd.grad(output.losses[player], list(params.values()), retain_graph=True)
    return found


def test_a_drawn_batch_carries_all_of_its_randomness():
    """Two evaluations of one drawn batch at the same parameters agree bit for bit (noise, dropout masks
    and all), whatever the global generator does in between; another dropout seed changes the losses."""
    game = small_paper_game().train()
    generator = torch.Generator().manual_seed(5)
    batch = game.draw_batch(torch.rand(8, 3, 32, 32, generator=generator), generator)
    assert isinstance(batch, ALIBatch) and batch.z.shape == batch.epsilon.shape == (8, 64, 1, 1)
    first = losses_and_gradients(game, batch)
    torch.rand(100)  # the global generator moves on; the batch does not care
    second = losses_and_gradients(game, batch)
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    other_masks = losses_and_gradients(game, batch._replace(dropout_seed=batch.dropout_seed + 1))
    assert not torch.equal(first[0], other_masks[0])


def test_draw_batch_is_reproducible_from_the_generator_state():
    game = small_paper_game()
    x = torch.rand(4, 3, 32, 32)
    one, again = (game.draw_batch(x, torch.Generator().manual_seed(7)) for _ in range(2))
    other = game.draw_batch(x, torch.Generator().manual_seed(8))
    assert torch.equal(one.z, again.z) and torch.equal(one.epsilon, again.epsilon)
    assert one.dropout_seed == again.dropout_seed != other.dropout_seed
    assert not torch.equal(one.z, one.epsilon)


def test_a_plain_tensor_draws_its_noise_from_the_global_generator():
    game = small_paper_game().train()
    x = torch.rand(4, 3, 32, 32)
    torch.manual_seed(11)
    plain = game(x).losses["d"]
    torch.manual_seed(11)
    drawn = game(game.draw_batch(x)).losses["d"]
    assert torch.equal(plain, drawn)

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
from tests.helpers.games import small_paper_game


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


def test_instance_noise_schedule():
    """sigma_t = std (constant) or std * max(0, 1 - t / anneal_steps) (linear): exact values."""
    from ali_opt.ali import instance_noise_std
    linear = {"std": 0.5, "anneal": "linear", "anneal_steps": 4}
    assert [instance_noise_std(linear, step) for step in (0, 1, 2, 3, 4, 5, 100)] == [0.5, 0.375, 0.25, 0.125, 0, 0, 0]
    constant = {"std": 0.5, "anneal": "constant", "anneal_steps": 4}
    assert [instance_noise_std(constant, step) for step in (0, 1, 4, 100)] == [0.5] * 4
    off = {"std": 0.0, "anneal": "linear", "anneal_steps": 0}
    assert instance_noise_std(off, 1) == 0


def test_instance_noise_is_a_known_draw_added_to_the_x_of_both_pairs():
    """The batch draws epsilon, z, the dropout seed, then n ~ N(0, I) of shape (2N, 2) from its generator;
    the discriminator sees cat(x, G(z)) + sigma_t n (sigma_t at the game's step), the encoder the clean x;
    the batch evaluates bit for bit again (extragradient reuses it); past anneal_steps nothing is drawn."""
    torch.manual_seed(0)
    models = build_models("mixture_paper", width=0.02)
    game = ALIGame(models.encoder, models.decoder, models.discriminator, models.latent_shape,
                   instance_noise={"std": 0.5, "anneal": "linear", "anneal_steps": 4}).train()
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(1))
    game.set_progress(1)
    batch = game.draw_batch(x, torch.Generator().manual_seed(3))
    generator = torch.Generator().manual_seed(3)
    epsilon, z = torch.randn(6, 2, generator=generator), torch.randn(6, 2, generator=generator)
    seed = int(torch.randint(2**62, (), generator=generator))
    noise = torch.randn(12, 2, generator=generator)
    assert torch.equal(batch.epsilon, epsilon) and torch.equal(batch.z, z) and batch.dropout_seed == seed
    assert torch.equal(batch.instance_noise, noise) and batch.instance_noise_std == 0.375
    seen = {}

    def record(module, args):
        seen.setdefault("encoder" if module is game.encoder else "discriminator", args[0])

    game.encoder.register_forward_pre_hook(record)
    game.discriminator.register_forward_pre_hook(record)
    losses = game(batch).losses
    assert torch.equal(seen["encoder"], x)
    with torch.no_grad():
        generated = game.decoder(z)  # batch norm in training mode: the same batch statistics
    assert torch.equal(seen["discriminator"], torch.cat([x, generated]) + 0.375 * noise)
    again = game(batch).losses
    assert all(torch.equal(losses[player], again[player]) for player in losses)
    clean = game(batch._replace(instance_noise=None, instance_noise_std=0.0)).losses
    assert not torch.equal(losses["d"], clean["d"])
    game.set_progress(4)  # sigma_4 = 0: no noise, and the other draws are those of a game without it
    quiet = game.draw_batch(x, torch.Generator().manual_seed(3))
    assert quiet.instance_noise is None and quiet.instance_noise_std == 0
    assert torch.equal(quiet.z, z) and quiet.dropout_seed == seed


@pytest.mark.parametrize("value, message", [
    ({"std": -0.1}, "instance_noise.std=-0.1 is not valid"),
    ({"std": 0.1, "anneal": "cosine"}, "instance_noise.anneal='cosine' is not valid; choose one of: constant, linear"),
    ({"std": 0.1}, "instance_noise.anneal_steps=0 is not valid with anneal='linear'"),
    ({"std": 0.1, "anneal_steps": 2.5}, "instance_noise.anneal_steps=2.5 is not valid"),
    ({"sigma": 0.1}, "instance_noise={'sigma': 0.1} is not valid"),
])
def test_bad_instance_noise_is_refused(value, message):
    from ali_opt.ali import check_instance_noise
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace("[", r"\[")):
        check_instance_noise(value)


def test_a_noise_input_encoder_draws_epsilon_of_its_own_shape_and_reads_it():
    """With mixture_grid25's encoder (z = f([x, epsilon]), epsilon of x's size), the batch draws epsilon
    then z from its generator, epsilon of the encoder's noise shape (here 3, unlike z's 2); the real pairs'
    z is f([x, epsilon]); the step logs the z_hat statistics; reconstruction decodes f([x, 0])."""
    from ali_opt.models.networks import NoiseInputEncoder
    torch.manual_seed(0)
    models = build_models("mixture_grid25", width=0.02, dropout=False)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    game = ALIGame(NoiseInputEncoder(net, noise_shape=(3,)), models.decoder, models.discriminator,
                   models.latent_shape).eval()
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(1))
    batch = game.draw_batch(x, torch.Generator().manual_seed(3))
    generator = torch.Generator().manual_seed(3)
    epsilon, z = torch.randn(6, 3, generator=generator), torch.randn(6, 2, generator=generator)
    assert torch.equal(batch.epsilon, epsilon) and torch.equal(batch.z, z)
    output = game(batch)
    with torch.no_grad():
        z_hat = net(torch.cat([x, epsilon], dim=1))
        logits = game.discriminator(torch.cat([x, game.decoder(z)]), torch.cat([z_hat, z]))
    expected_d = F.softplus(-logits[:6]).mean() + F.softplus(logits[6:]).mean()
    torch.testing.assert_close(output.losses["d"].detach(), expected_d, rtol=0, atol=0)
    assert set(output.metrics) == {"d_real", "d_fake", "z_hat_mean", "z_hat_std"}
    assert output.metrics["z_hat_mean"] == z_hat.mean()
    torch.testing.assert_close(game.reconstruct(x), game.decoder(net(torch.cat([x, torch.zeros(6, 3)], dim=1))))

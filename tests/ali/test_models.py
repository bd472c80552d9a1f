"""Tests of ali_opt.models: shapes, width scaling, initialisation, dropout placement, errors."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ali_opt.errors import ConfigError
from ali_opt.models import MODELS, build_models
from ali_opt.models.layers import Maxout, SpatialLinear
from ali_opt.models.networks import GaussianEncoder, NoiseInputEncoder, encoding_of

IMAGE_MODELS = ("cifar32", "svhn32", "celeba64")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _inputs(models, n=2):
    return torch.rand(n, *models.data_shape), torch.randn(n, *models.latent_shape)


@pytest.mark.parametrize("width", [1.0, 0.25])
@pytest.mark.parametrize("name", MODELS)
def test_output_shapes(name, width):
    models = build_models(name, width=width)
    x, z = _inputs(models)
    encoding = encoding_of(models.encoder)
    epsilon = torch.randn(2, *encoding.noise_shape(models.latent_shape))
    with torch.no_grad():
        z_hat, _ = encoding.sample(x, epsilon)
        code = encoding.code(x)
        x_tilde = models.decoder(z)
        logits = models.discriminator(x, z)
        if isinstance(models.encoder, GaussianEncoder):
            mu, log_sigma = models.encoder(x)
            assert mu.shape == log_sigma.shape == z.shape and torch.equal(code, mu)
    assert z_hat.shape == code.shape == z.shape
    assert x_tilde.shape == x.shape
    assert logits.shape == (2,)


@pytest.mark.parametrize("name, data_shape, latent_shape", [
    ("cifar32", (3, 32, 32), (64, 1, 1)),
    ("svhn32", (3, 32, 32), (256, 1, 1)),
    ("celeba64", (3, 64, 64), (256, 1, 1)),
    ("mlp", (2,), (2,)),
    ("mixture_paper", (2,), (2,)),
    ("mixture_grid25", (2,), (2,)),
])
def test_declared_shapes(name, data_shape, latent_shape):
    models = build_models(name, width=0.25)
    assert models.data_shape == data_shape
    assert models.latent_shape == latent_shape


def test_cifar32_encoder_reaches_one_pixel_before_its_dense_layers():
    encoder = build_models("cifar32", width=0.25).encoder
    convolutions = [m for m in encoder.net if isinstance(m, (nn.Conv2d, SpatialLinear))]
    features = torch.rand(2, 3, 32, 32)
    sizes = []
    for module in encoder.net:
        features = module(features)
        if module in convolutions:
            sizes.append(tuple(features.shape[2:]))
    assert sizes == [(28, 28), (13, 13), (10, 10), (4, 4), (1, 1)]


def test_image_decoders_output_pixels_in_unit_interval():
    models = build_models("cifar32", width=0.25)
    with torch.no_grad():
        x = models.decoder(10 * torch.randn(4, *models.latent_shape))
    assert x.min() >= 0 and x.max() <= 1


def test_latent_and_data_dims_can_be_chosen():
    models = build_models("mlp", data_dim=5, latent_dim=3)
    assert models.data_shape == (5,) and models.latent_shape == (3,)
    x, z = _inputs(models, n=4)
    assert models.encoder(x)[0].shape == (4, 3)
    assert models.decoder(z).shape == (4, 5)
    assert build_models("svhn32", width=0.25, latent_dim=16).latent_shape == (16, 1, 1)


def test_width_scales_hidden_channels_only():
    full, quarter = build_models("cifar32"), build_models("cifar32", width=0.25)
    first_full, first_quarter = full.encoder.net[0], quarter.encoder.net[0]
    assert (first_full.in_channels, first_full.out_channels) == (3, 32)
    assert (first_quarter.in_channels, first_quarter.out_channels) == (3, 8)
    assert full.encoder.net[-2].out_features == quarter.encoder.net[-2].out_features == 128
    assert quarter.decoder[-3].out_channels == 3


def test_tiny_width_keeps_at_least_one_unit_per_layer():
    models = build_models("cifar32", width=1e-6)
    x, z = _inputs(models)
    assert models.discriminator(x, z).shape == (2,)
    maxout_convs = [m for m in models.discriminator.x_path if isinstance(m, (nn.Conv2d, SpatialLinear))]
    assert all(m.weight.shape[0] == 2 for m in maxout_convs)


def _weights_and_biases(module):
    layers = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    return [m.weight for m in layers], [m.bias for m in layers if m.bias is not None]


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_gaussian_init_and_zero_biases(name):
    models = build_models(name, width=0.25)
    for network in (models.encoder, models.discriminator):
        weights, biases = _weights_and_biases(network)
        for weight in weights:
            if weight.numel() >= 1000:
                assert weight.mean().abs() < 2e-3
                assert weight.std().item() == pytest.approx(0.01, rel=0.1)
        assert all(bool((bias == 0).all()) for bias in biases)


@pytest.mark.parametrize("pixel_mean", [0.3, torch.tensor([0.2, 0.5, 0.7])])
def test_decoder_output_bias_is_log_odds_of_pixel_mean(pixel_mean):
    models = build_models("cifar32", width=0.25, pixel_mean=pixel_mean)
    expected = torch.logit(torch.as_tensor(pixel_mean, dtype=torch.float32)).reshape(-1, 1, 1).expand(3, 32, 32)
    torch.testing.assert_close(models.decoder[-2].bias.detach(), expected)
    models.decoder.eval()
    with torch.no_grad():
        pixels = models.decoder(torch.randn(8, *models.latent_shape))
    torch.testing.assert_close(pixels.mean(dim=(0, 2, 3)), torch.as_tensor(pixel_mean).expand(3).float(),
                               atol=0.02, rtol=0)


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_decoder_output_bias_is_untied_and_starts_at_the_marginals_log_odds(name):
    """As the original code: one trained bias per output pixel and channel, at the log-odds of each
    pixel's training mean; the untrained decoder then outputs the mean image."""
    size = 64 if name == "celeba64" else 32
    marginals = torch.rand(3, size, size, generator=torch.Generator().manual_seed(0)) * 0.8 + 0.1
    models = build_models(name, width=0.125, pixel_mean=marginals)
    bias = models.decoder[-2].bias
    assert bias.shape == (3, size, size) and bias.requires_grad
    torch.testing.assert_close(bias.detach(), torch.logit(marginals))
    assert dict(models.decoder.named_parameters())[f"{len(models.decoder) - 2}.bias"] is bias
    assert models.decoder[-3].bias is None  # the 1x1 convolution before it has no tied bias
    models.decoder.eval()
    with torch.no_grad():
        pixels = models.decoder(torch.randn(4, *models.latent_shape))
    torch.testing.assert_close(pixels.mean(dim=0), marginals, atol=0.02, rtol=0)


def test_decoder_output_bias_defaults_to_zero_and_is_clamped():
    assert bool((build_models("svhn32", width=0.25).decoder[-2].bias == 0).all())
    bias = build_models("svhn32", width=0.25, pixel_mean=0.0).decoder[-2].bias
    assert bool(torch.isfinite(bias).all()) and bias[0, 0, 0].item() == pytest.approx(math.log(1e-3 / (1 - 1e-3)),
                                                                                      rel=1e-4)


@pytest.mark.parametrize("pixel_mean", [1.5, -0.1, float("nan"), torch.ones(2) / 2, torch.ones(3, 16, 16) / 2, "grey"])
def test_bad_pixel_mean_is_a_config_error(pixel_mean):
    with pytest.raises(ConfigError, match="pixel_mean"):
        build_models("cifar32", width=0.25, pixel_mean=pixel_mean)


def test_pixel_mean_is_refused_for_mlp():
    with pytest.raises(ConfigError, match="pixel_mean"):
        build_models("mlp", pixel_mean=0.5)


def _dropout_rates(module):
    return [m.p for m in module.modules() if isinstance(m, nn.Dropout)]


@pytest.mark.parametrize("name", MODELS)
def test_only_the_discriminator_has_dropout(name):
    models = build_models(name, width=0.25)
    assert _dropout_rates(models.encoder) == _dropout_rates(models.decoder) == []
    x, z = _inputs(models, n=4)
    models.discriminator.eval()
    assert torch.equal(models.discriminator(x, z), models.discriminator(x, z))


def test_cifar32_dropout_sits_where_the_original_code_puts_it():
    discriminator = build_models("cifar32", width=0.25).discriminator
    assert _dropout_rates(discriminator.x_path) == [0.2, 0.5, 0.5, 0.5]
    assert _dropout_rates(discriminator.z_path) == [0.2, 0.5]
    assert _dropout_rates(discriminator.joint) == [0.5, 0.5, 0.5]
    x_path = list(discriminator.x_path)
    assert isinstance(x_path[0], nn.Dropout) and isinstance(x_path[1], nn.Conv2d)


@pytest.mark.parametrize("name", ["svhn32", "celeba64"])
def test_leaky_relu_discriminators_drop_every_layer_input_at_rate_0_2(name):
    discriminator = build_models(name, width=0.25).discriminator
    assert _dropout_rates(discriminator) == [0.2] * 10


def test_dropout_is_active_in_training_mode():
    models = build_models("cifar32", width=0.25)
    x, z = _inputs(models, n=4)
    assert not torch.equal(models.discriminator(x, z), models.discriminator(x, z))


def test_maxout_takes_the_max_of_consecutive_channels():
    x = torch.tensor([[1.0, 5.0, -2.0, -3.0]])
    torch.testing.assert_close(Maxout(2)(x), torch.tensor([[5.0, -2.0]]))
    maps = torch.randn(2, 6, 3, 3)
    torch.testing.assert_close(Maxout(3)(maps)[:, 1], maps[:, 3:6].amax(1))


def test_spatial_linear_equals_the_convolutions_it_replaces():
    to_pixel = SpatialLinear((4, 3, 3), (5, 1, 1), bias=True)
    x = torch.randn(2, 4, 3, 3)
    conv = nn.functional.conv2d(x, to_pixel.weight.view(5, 4, 3, 3), to_pixel.bias)
    torch.testing.assert_close(to_pixel(x), conv)
    from_pixel = SpatialLinear((4, 1, 1), (5, 3, 3), bias=False)
    z = torch.randn(2, 4, 1, 1)
    transposed = nn.functional.conv_transpose2d(z, from_pixel.weight.view(5, 3, 3, 4).permute(3, 0, 1, 2))
    torch.testing.assert_close(from_pixel(z), transposed)


@pytest.mark.parametrize("name", ["cifar32", "mlp"])
def test_second_derivatives_flow_through_every_network(name):
    models = build_models(name, width=0.25)
    x, z = _inputs(models, n=4)
    mu, log_sigma = models.encoder(x)
    z_hat = mu + log_sigma.exp() * torch.randn_like(mu)
    logits = models.discriminator(torch.cat([x, models.decoder(z)]), torch.cat([z_hat, z]))
    parameters = [p for network in models[:3] for p in network.parameters()]
    grads = torch.autograd.grad(logits.sum(), parameters, create_graph=True)
    square_norm = sum((g * g).sum() for g in grads)
    second = torch.autograd.grad(square_norm, parameters, allow_unused=True)
    assert any(g is not None and bool(g.abs().sum() > 0) for g in second)


def test_unknown_model_lists_the_choices():
    with pytest.raises(ConfigError) as error:
        build_models("resnet")
    message = str(error.value)
    assert "'resnet'" in message and all(name in message for name in MODELS)
    assert "\n" not in message


@pytest.mark.parametrize("width", [0, -1.0, float("nan"), float("inf"), "1", True, None])
def test_bad_width_is_a_config_error(width):
    with pytest.raises(ConfigError, match="width"):
        build_models("cifar32", width=width)


@pytest.mark.parametrize("key, value", [("latent_dim", 0), ("latent_dim", 2.5), ("data_dim", -2)])
def test_bad_dims_are_config_errors(key, value):
    with pytest.raises(ConfigError, match=key):
        build_models("mlp", **{key: value})


def test_two_piece_maxout_matches_amax_forward_and_backward():
    from ali_opt.models.layers import Maxout

    x = torch.randn(6, 8, 3, 3, requires_grad=True)
    reference = x.detach().clone().requires_grad_()
    weights = torch.randn(6, 4, 3, 3)
    (Maxout(2)(x) * weights).sum().backward()
    (reference.unflatten(1, (-1, 2)).amax(2) * weights).sum().backward()
    assert torch.equal(Maxout(2)(x), reference.unflatten(1, (-1, 2)).amax(2))
    assert torch.equal(x.grad, reference.grad)


def test_cpu_dropout_keeps_the_expected_fraction_and_the_mean():
    from ali_opt.models.layers import Dropout

    torch.manual_seed(0)
    layer = Dropout(0.2)
    x = torch.ones(200_000)
    y = layer(x)
    kept = (y != 0).float().mean().item()
    assert abs(kept - 0.8) < 0.005
    assert torch.allclose(y[y != 0], torch.full_like(y[y != 0], 1 / 0.8))
    assert abs(y.mean().item() - 1.0) < 0.01
    assert torch.equal(layer.eval()(x), x)


def test_mixture_paper_networks_follow_the_original_script():
    """experiments/ali_mixture.py: 1000-unit ReLU layers with batch norm (no bias), linear outputs with
    bias; a maxout discriminator of 400 units x 2 pieces; dropout 0.2 on its input, 0.5 above; N(0, 0.02)."""
    models = build_models("mixture_paper")
    for network, out_features in ((models.encoder.net, 4), (models.decoder, 2)):
        linears = [m for m in network if isinstance(m, nn.Linear)]
        assert [(m.in_features, m.out_features, m.bias is not None) for m in linears] == [
            (2, 1000, False), (1000, 1000, False), (1000, out_features, True)]
        norms = [m for m in network if isinstance(m, nn.BatchNorm1d)]
        assert [(m.eps, m.momentum) for m in norms] == [(1e-4, 0.05)] * 2
        assert sum(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0 for m in network) == 2
    joint = models.discriminator.joint
    linears = [(m.in_features, m.out_features) for m in joint if isinstance(m, nn.Linear)]
    assert linears == [(4, 800), (400, 800), (400, 1)]
    assert [m.pieces for m in joint if isinstance(m, Maxout)] == [2, 2]
    assert _dropout_rates(joint) == [0.2, 0.5, 0.5]
    weights = torch.cat([m.weight.flatten() for m in joint if isinstance(m, nn.Linear)])
    assert abs(weights.std().item() - 0.02) < 1e-3
    assert all((m.bias == 0).all() for m in joint if isinstance(m, nn.Linear))


def test_mixture_grid25_networks_follow_the_final_script():
    """experiments/ali_mixture.py at a7d4235: an encoder on (x, noise of x's size) through two 400-unit ReLU
    layers with batch norm (no bias), a decoder of four, linear outputs with bias; a discriminator of three
    maxout layers of 200 units x 5 pieces (with bias) and a linear logit; no dropout; N(0, 0.02), biases 0.
    Parameter counts by hand: encoder 4*400 + 400*400 + 400*2 + 2 + 2 batch norms of 2*400 = 164,002;
    decoder 2*400 + 3*400*400 + 400*2 + 2 + 4*800 = 484,802; discriminator (4*1000 + 1000) + 2*(200*1000
    + 1000) + 200 + 1 = 407,201."""
    models = build_models("mixture_grid25")
    assert isinstance(models.encoder, NoiseInputEncoder) and models.encoder.noise_shape((2,)) == (2,)
    for network, sizes in ((models.encoder.net, [(4, 400), (400, 400), (400, 2)]),
                           (models.decoder, [(2, 400)] + [(400, 400)] * 3 + [(400, 2)])):
        linears = [m for m in network if isinstance(m, nn.Linear)]
        assert [(m.in_features, m.out_features) for m in linears] == sizes
        assert [m.bias is not None for m in linears] == [False] * (len(sizes) - 1) + [True]
        norms = [m for m in network if isinstance(m, nn.BatchNorm1d)]
        assert [(m.eps, m.momentum) for m in norms] == [(1e-4, 0.05)] * (len(sizes) - 1)
        assert sum(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0 for m in network) == len(sizes) - 1
    joint = models.discriminator.joint
    assert [(m.in_features, m.out_features) for m in joint if isinstance(m, nn.Linear)] == [
        (4, 1000), (200, 1000), (200, 1000), (200, 1)]
    assert [m.pieces for m in joint if isinstance(m, Maxout)] == [5, 5, 5]
    assert _dropout_rates(models.discriminator) == []
    count = [sum(p.numel() for p in network.parameters()) for network in models[:3]]
    assert count == [164_002, 484_802, 407_201]
    for network in models[:3]:
        weights, biases = _weights_and_biases(network)
        assert abs(torch.cat([w.flatten() for w in weights]).std().item() - 0.02) < 5e-4
        assert all(bool((bias == 0).all()) for bias in biases)


def test_noise_input_encoder_maps_data_and_noise_through_one_network():
    """z = f([x, epsilon]): the network reads the concatenation; the code of x is f([x, 0]); the map is not
    affine in epsilon (what sets it apart from a Gaussian encoder)."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 2))
    encoder = NoiseInputEncoder(net, noise_shape=(3,))
    x, epsilon = torch.randn(4, 2), torch.randn(4, 3)
    z_hat, parts = encoder.sample(x, epsilon)
    assert torch.equal(z_hat, net(torch.cat([x, epsilon], dim=1))) and torch.equal(parts["z_hat"], z_hat)
    assert torch.equal(encoder.code(x), net(torch.cat([x, torch.zeros(4, 3)], dim=1)))
    stats = encoder.statistics(parts)
    assert stats["z_hat_mean"] == z_hat.mean() and stats["z_hat_std"] == z_hat.std()
    midpoint = encoder(x, torch.zeros(4, 3))
    assert not torch.allclose(encoder(x, epsilon) + encoder(x, -epsilon), 2 * midpoint, atol=1e-3)

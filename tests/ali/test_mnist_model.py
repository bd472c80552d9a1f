"""Tests of the mnist28 model (docs/mnist.md) and the ``mnist`` named config."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from ali_opt.models import build_models, data_shape
from ali_opt.models.layers import Dropout

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def _counts(width: float) -> list[int]:
    models = build_models("mnist28", width=width)
    return [sum(p.numel() for p in network.parameters()) for network in models[:3]]


def test_parameter_counts_at_full_width_by_hand():
    """Channels 32, 64, 128, 256, 512 (kernels 5, 4, 4, 4, 3), a 512-unit dense layer and 2 x 128
    outputs; batch norm adds 2 per channel; the discriminator's first convolution has a bias and
    no batch norm, its z path is 512, 512 and its joint path 1024, 1024 units with bias, then one logit."""
    encoder = (1 * 32 * 25 + 2 * 32) + (32 * 64 * 16 + 2 * 64) + (64 * 128 * 16 + 2 * 128) \
        + (128 * 256 * 16 + 2 * 256) + (256 * 512 * 9 + 2 * 512) + (512 * 512 + 2 * 512) + (512 * 256 + 256)
    decoder = (128 * 256 * 9 + 2 * 256) + (256 * 128 * 16 + 2 * 128) + (128 * 64 * 16 + 2 * 64) \
        + (64 * 32 * 16 + 2 * 32) + (32 * 32 * 25 + 2 * 32) + (32 * 32 + 2 * 32) + 32 * 1 + 28 * 28
    discriminator = (1 * 32 * 25 + 32) + (32 * 64 * 16 + 2 * 64) + (64 * 128 * 16 + 2 * 128) \
        + (128 * 256 * 16 + 2 * 256) + (256 * 512 * 9 + 2 * 512) + (128 * 512 + 512 * 512) \
        + ((512 + 512) * 1024 + 1024) + (1024 * 1024 + 1024) + (1024 + 1)
    assert (encoder, decoder, discriminator) == (2_265_056, 1_011_568, 4_298_433)  # as docs/mnist.md lists
    assert _counts(1.0) == [encoder, decoder, discriminator]


def test_parameter_counts_at_quarter_width_by_hand():
    """Width 0.25 quarters every hidden channel count (8, 16, 32, 64, 128; dense 128; z path 128,
    joint 256); the latent size (128) and the one image channel stay."""
    encoder = (1 * 8 * 25 + 2 * 8) + (8 * 16 * 16 + 2 * 16) + (16 * 32 * 16 + 2 * 32) + (32 * 64 * 16 + 2 * 64) \
        + (64 * 128 * 9 + 2 * 128) + (128 * 128 + 2 * 128) + (128 * 256 + 256)
    decoder = (128 * 64 * 9 + 2 * 64) + (64 * 32 * 16 + 2 * 32) + (32 * 16 * 16 + 2 * 16) + (16 * 8 * 16 + 2 * 8) \
        + (8 * 8 * 25 + 2 * 8) + (8 * 8 + 2 * 8) + 8 * 1 + 28 * 28
    discriminator = (1 * 8 * 25 + 8) + (8 * 16 * 16 + 2 * 16) + (16 * 32 * 16 + 2 * 32) + (32 * 64 * 16 + 2 * 64) \
        + (64 * 128 * 9 + 2 * 128) + (128 * 128 + 128 * 128) + ((128 + 128) * 256 + 256) + (256 * 256 + 256) \
        + (256 + 1)
    assert (encoder, decoder, discriminator) == (167_096, 119_464, 282_033)  # as docs/mnist.md lists
    assert _counts(0.25) == [encoder, decoder, discriminator]


def test_feature_maps_go_28_24_11_8_3_1_and_back():
    models = build_models("mnist28", width=0.25)
    assert models.data_shape == data_shape("mnist28") == (1, 28, 28) and models.latent_shape == (128, 1, 1)
    sizes, x = [], torch.rand(2, 1, 28, 28)
    for module in models.encoder.net:
        x = module(x)
        if isinstance(module, nn.LeakyReLU) and x.dim() == 4:
            sizes.append(x.shape[-1])
    assert sizes == [24, 11, 8, 3, 1]
    sizes, z = [], torch.randn(2, 128, 1, 1)
    for module in models.decoder:
        z = module(z)
        if isinstance(module, nn.LeakyReLU):
            sizes.append(z.shape[-1])
    assert sizes == [3, 8, 11, 24, 28, 28]
    assert z.shape == (2, 1, 28, 28) and 0 < z.min() and z.max() < 1  # one grey channel, after the sigmoid


def test_decoder_starts_at_the_mean_image_and_only_the_discriminator_drops_out():
    mean = torch.full((1, 28, 28), 0.1)
    mean[0, 14, 14] = 0.9
    models = build_models("mnist28", width=0.25, pixel_mean=mean)
    models.decoder.eval()
    with torch.no_grad():
        out = models.decoder(torch.zeros(3, 128, 1, 1))  # N(0, 0.01) weights: the output bias dominates
    assert torch.allclose(out, mean.expand(3, -1, -1, -1), atol=1e-3)
    assert not any(isinstance(m, Dropout) for net in (models.encoder, models.decoder) for m in net.modules())
    rates = [m.p for m in models.discriminator.modules() if isinstance(m, Dropout)]
    assert rates == [0.2] * 10  # on the input of the 5 x convolutions, 2 z layers, 2 joint layers and the logit

"""Builds the encoder, decoder and discriminator of a convolutional architecture table."""
from __future__ import annotations

import torch
from torch import nn

from ali_opt.models.architectures import ConvArchitecture
from ali_opt.models.initialization import init_gaussian_, pixel_log_odds
from ali_opt.models.layers import Dropout, UntiedBias, stack
from ali_opt.models.networks import ALIModels, GaussianEncoder, JointDiscriminator


def build_conv_models(arch: ConvArchitecture, *, width: float, latent_dim: int,
                      pixel_mean: torch.Tensor | float | None) -> ALIModels:
    """The three networks of ``arch`` with every hidden channel count scaled by ``width``.

    Weights ~ N(0, 0.01) and biases 0, except the decoder's output bias. As in the original
    code (IshmaelBelghazi/ALI, ``experiments/ali_{cifar10,svhn,celeba}.py``) it is untied, one
    trained bias per output pixel and channel, and starts at the log-odds of the training
    marginals, ``pixel_mean`` (one mean per pixel and channel; a scalar or one per channel is
    broadcast; 0 when None), so that the untrained decoder outputs the mean image. The
    original takes the marginals from its first 500 training images; training runs here pass
    the mean over the whole training set (:attr:`ali_opt.data.Dataset.pixel_marginals`).
    """
    encoder = _encoder(arch, width, latent_dim)
    decoder = _decoder(arch, width, latent_dim)
    discriminator = _discriminator(arch, width, latent_dim)
    for network in (encoder, decoder, discriminator):
        init_gaussian_(network)
    output_bias = decoder[-2]  # the untied bias between the last 1x1 convolution and the sigmoid
    with torch.no_grad():
        output_bias.bias.copy_(pixel_log_odds(pixel_mean, tuple(output_bias.bias.shape)))
    return ALIModels(
        encoder=encoder,
        decoder=decoder,
        discriminator=discriminator,
        latent_shape=(latent_dim, 1, 1),
        data_shape=(arch.image_channels, arch.image_size, arch.image_size),
    )


def _encoder(arch: ConvArchitecture, width: float, latent_dim: int) -> GaussianEncoder:
    """Image (N, C, S, S) -> mean and log sigma, each (N, latent_dim, 1, 1)."""
    convs, channels, _ = stack(arch.encoder_convs, arch.image_channels, width, kind="conv", leak=arch.leak,
                               size=arch.image_size)
    dense, channels, _ = stack(arch.encoder_dense, channels, width, kind="dense", leak=arch.leak)
    return GaussianEncoder(nn.Sequential(
        *convs, nn.Flatten(), *dense, nn.Linear(channels, 2 * latent_dim), nn.Unflatten(1, (2 * latent_dim, 1, 1)),
    ))


def _decoder(arch: ConvArchitecture, width: float, latent_dim: int) -> nn.Sequential:
    """Latent (N, latent_dim, 1, 1) -> image (N, C, S, S) in [0, 1]: the convolutions, a 1x1
    convolution to the image channels, an untied bias (one per pixel and channel), a sigmoid."""
    convs, channels, size = stack(arch.decoder_convs, latent_dim, width, kind="transposed", leak=arch.leak)
    return nn.Sequential(*convs, nn.Conv2d(channels, arch.image_channels, 1, bias=False),
                         UntiedBias((arch.image_channels, size, size)), nn.Sigmoid())


def _discriminator(arch: ConvArchitecture, width: float, latent_dim: int) -> JointDiscriminator:
    """(image (N, C, S, S), latent (N, latent_dim, 1, 1)) -> logits (N,)."""
    leak, pieces = arch.leak, arch.maxout_pieces
    x_convs, x_channels, _ = stack(arch.x_convs, arch.image_channels, width, kind="conv", leak=leak,
                                   maxout_pieces=pieces, size=arch.image_size)
    z_dense, z_channels, _ = stack(arch.z_dense, latent_dim, width, kind="dense", leak=leak, maxout_pieces=pieces)
    joint, channels, _ = stack(arch.joint_dense, x_channels + z_channels, width, kind="dense", leak=leak,
                               maxout_pieces=pieces)
    return JointDiscriminator(
        x_path=nn.Sequential(*x_convs, nn.Flatten()),
        z_path=nn.Sequential(nn.Flatten(), *z_dense),
        joint=nn.Sequential(*joint, Dropout(arch.logit_dropout), nn.Linear(channels, 1)),
    )

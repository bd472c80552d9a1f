"""The convolutional ALI architectures, as tables (Dumoulin et al. 2016, appendix A).

CIFAR-10 and SVHN follow the original code (IshmaelBelghazi/ALI, ``experiments/``) layer by
layer, dropout placement included; CelebA follows the paper's 64x64 table, with the
discriminator conventions of the SVHN code (the repository's CelebA script is a 32x32 copy
of the SVHN one). MNIST28, which the paper does not have, is the SVHN table for 28x28 grey
images. Layers applied to 1x1 feature maps are written as dense layers.
"""
from __future__ import annotations

from typing import NamedTuple

from ali_opt.models.layers import Layer


class ConvArchitecture(NamedTuple):
    """An encoder, a decoder and a discriminator for square images of ``image_channels`` channels.

    - encoder: ``encoder_convs`` (conv, BN, LeakyReLU each) take the image to a 1x1 map, then
      ``encoder_dense`` rows, then a linear layer (with bias) to the mean and log sigma.
    - decoder: ``decoder_convs`` (transposed conv, BN, LeakyReLU each) take the 1x1 latent to
      the image size, then a 1x1 convolution to the image channels, an untied bias (one per
      pixel and channel, as the original code) and a sigmoid.
    - discriminator: ``x_convs`` take x to a 1x1 map and ``z_dense`` process z; ``joint_dense``
      process the concatenation of both, then dropout ``logit_dropout`` and a linear layer (with
      bias) to one logit. Its activation is maxout with ``maxout_pieces`` pieces, or LeakyReLU
      when that is 1.
    """

    image_size: int
    latent_dim: int
    leak: float
    encoder_convs: tuple[Layer, ...]
    encoder_dense: tuple[Layer, ...]
    decoder_convs: tuple[Layer, ...]
    x_convs: tuple[Layer, ...]
    z_dense: tuple[Layer, ...]
    joint_dense: tuple[Layer, ...]
    logit_dropout: float
    maxout_pieces: int = 1
    image_channels: int = 3  # RGB; MNIST's grey images have 1

_ENCODER_32 = (Layer(32, 5, 1), Layer(64, 4, 2), Layer(128, 4, 1), Layer(256, 4, 2), Layer(512, 4, 1))
_DECODER_32 = (Layer(256, 4, 1), Layer(128, 4, 2), Layer(64, 4, 1), Layer(32, 4, 2), Layer(32, 5, 1),
                 Layer(32, 1, 1))

CIFAR32 = ConvArchitecture(
    image_size=32,
    latent_dim=64,
    leak=0.1,
    encoder_convs=_ENCODER_32,
    encoder_dense=(Layer(512),),
    decoder_convs=_DECODER_32,
    # Dropout where the original code puts it: 0.2 on the inputs; 0.5 on the input of the
    # second and fifth convolutions and on the third convolution's output (before its maxout).
    x_convs=(
        Layer(32, 5, 1, batchnorm=False, bias=True, dropout=0.2),
        Layer(64, 4, 2, batchnorm=False, dropout=0.5),
        Layer(128, 4, 1, batchnorm=False, dropout_before_activation=0.5),
        Layer(256, 4, 2, batchnorm=False),
        Layer(512, 4, 1, batchnorm=False, dropout=0.5),
    ),
    z_dense=(Layer(512, batchnorm=False, dropout=0.2), Layer(512, batchnorm=False, dropout=0.5)),
    joint_dense=(Layer(1024, batchnorm=False, bias=True, dropout=0.5),
                 Layer(1024, batchnorm=False, bias=True, dropout=0.5)),
    logit_dropout=0.5,
    maxout_pieces=2,
)

SVHN32 = ConvArchitecture(
    image_size=32,
    latent_dim=256,
    leak=0.01,
    encoder_convs=_ENCODER_32,
    encoder_dense=(Layer(512),),
    decoder_convs=_DECODER_32,
    x_convs=(
        Layer(32, 5, 1, batchnorm=False, bias=True, dropout=0.2),
        Layer(64, 4, 2, dropout=0.2),
        Layer(128, 4, 1, dropout=0.2),
        Layer(256, 4, 2, dropout=0.2),
        Layer(512, 4, 1, dropout=0.2),
    ),
    z_dense=(Layer(512, batchnorm=False, dropout=0.2), Layer(512, batchnorm=False, dropout=0.2)),
    joint_dense=(Layer(1024, batchnorm=False, bias=True, dropout=0.2),
                 Layer(1024, batchnorm=False, bias=True, dropout=0.2)),
    logit_dropout=0.2,
)

CELEBA64 = ConvArchitecture(
    image_size=64,
    latent_dim=256,
    leak=0.02,
    encoder_convs=(Layer(64, 2, 1), Layer(128, 7, 2), Layer(256, 5, 2), Layer(256, 7, 2), Layer(512, 4, 1)),
    encoder_dense=(),
    decoder_convs=(Layer(512, 4, 1), Layer(256, 7, 2), Layer(256, 5, 2), Layer(128, 7, 2), Layer(64, 2, 1)),
    x_convs=(
        Layer(64, 2, 1, batchnorm=False, bias=True, dropout=0.2),
        Layer(128, 7, 2, dropout=0.2),
        Layer(256, 5, 2, dropout=0.2),
        Layer(256, 7, 2, dropout=0.2),
        Layer(512, 4, 1, dropout=0.2),
    ),
    z_dense=(Layer(1024, batchnorm=False, dropout=0.2), Layer(1024, batchnorm=False, dropout=0.2)),
    joint_dense=(Layer(2048, batchnorm=False, bias=True, dropout=0.2),
                 Layer(2048, batchnorm=False, bias=True, dropout=0.2)),
    logit_dropout=0.2,
)

# MNIST at 28x28 (not in the ALI paper): the SVHN networks with one input channel, latent size
# 128 (as the reproduction that runs MNIST), and kernels adjusted so that 28x28 maps reach 1x1:
# encoder 28 -> 24 -> 11 -> 8 -> 3 -> 1, decoder 1 -> 3 -> 8 -> 11 -> 24 -> 28 (docs/mnist.md).
_ENCODER_28 = (Layer(32, 5, 1), Layer(64, 4, 2), Layer(128, 4, 1), Layer(256, 4, 2), Layer(512, 3, 1))

MNIST28 = ConvArchitecture(
    image_size=28,
    latent_dim=128,
    leak=0.01,
    encoder_convs=_ENCODER_28,
    encoder_dense=(Layer(512),),
    decoder_convs=(Layer(256, 3, 1), Layer(128, 4, 2), Layer(64, 4, 1), Layer(32, 4, 2), Layer(32, 5, 1),
                   Layer(32, 1, 1)),
    x_convs=(
        Layer(32, 5, 1, batchnorm=False, bias=True, dropout=0.2),
        Layer(64, 4, 2, dropout=0.2),
        Layer(128, 4, 1, dropout=0.2),
        Layer(256, 4, 2, dropout=0.2),
        Layer(512, 3, 1, dropout=0.2),
    ),
    z_dense=SVHN32.z_dense,
    joint_dense=SVHN32.joint_dense,
    logit_dropout=0.2,
    image_channels=1,
)

ARCHITECTURES = {"cifar32": CIFAR32, "svhn32": SVHN32, "celeba64": CELEBA64, "mnist28": MNIST28}

"""Small fully connected ALI networks for low-dimensional data such as the 2-D mixtures."""
from __future__ import annotations

from torch import nn

from ali_opt.models.layers import Layer, stack
from ali_opt.models.networks import ALIModels, GaussianEncoder, JointDiscriminator

HIDDEN = (Layer(128, batchnorm=False, bias=True), Layer(128, batchnorm=False, bias=True))
"""Hidden layers of each network: two of 128 units, LeakyReLU, no batch norm, no dropout."""

LEAK = 0.2
"""Slope of the LeakyReLU after each hidden layer."""


def build_mlp_models(*, width: float, data_dim: int, latent_dim: int) -> ALIModels:
    """Encoder, decoder (linear output) and discriminator on concatenated (x, z).

    PyTorch's default initialisation is kept: the N(0, 0.01) rule of the convolutional
    models would start these narrow networks with outputs about 1e-4 times their inputs.
    """
    return ALIModels(
        encoder=GaussianEncoder(_mlp(data_dim, 2 * latent_dim, width)),
        decoder=_mlp(latent_dim, data_dim, width),
        discriminator=JointDiscriminator(nn.Flatten(), nn.Flatten(), _mlp(data_dim + latent_dim, 1, width)),
        latent_shape=(latent_dim,),
        data_shape=(data_dim,),
    )


def _mlp(in_features: int, out_features: int, width: float) -> nn.Sequential:
    """The hidden layers scaled by ``width``, then a linear layer to ``out_features``."""
    hidden, features, _ = stack(HIDDEN, in_features, width, kind="dense", leak=LEAK)
    return nn.Sequential(*hidden, nn.Linear(features, out_features))

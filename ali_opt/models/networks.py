"""The networks of an ALI game: a Gaussian encoder, a joint discriminator, and the bundle of three."""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class ALIModels(NamedTuple):
    """The three networks of ALI and the shapes of one example of z and of x."""

    encoder: nn.Module
    """x (N, *data_shape) -> (mu, log_sigma), each (N, *latent_shape)."""
    decoder: nn.Module
    """z (N, *latent_shape) -> x (N, *data_shape)."""
    discriminator: nn.Module
    """(x, z) -> logits (N,)."""
    latent_shape: tuple[int, ...]
    data_shape: tuple[int, ...]


class GaussianEncoder(nn.Module):
    """Maps x to the mean and log standard deviation of q(z | x).

    ``net`` outputs 2 * L channels on dim 1: the first L are the mean, the last L the log sigma.
    """

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, log_sigma = self.net(x).chunk(2, dim=1)
        return mu, log_sigma


class JointDiscriminator(nn.Module):
    """D(x, z): ``x_path`` and ``z_path`` each output flat features, ``joint`` maps their
    concatenation to one logit per example, returned with shape (N,)."""

    def __init__(self, x_path: nn.Module, z_path: nn.Module, joint: nn.Module):
        super().__init__()
        self.x_path = x_path
        self.z_path = z_path
        self.joint = joint

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        features = torch.cat((self.x_path(x), self.z_path(z)), dim=1)
        return self.joint(features).squeeze(1)

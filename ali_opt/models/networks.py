"""The networks of an ALI game: the two kinds of encoder, a joint discriminator, and the bundle of three.

An encoder is either

- **Gaussian**: any module whose ``forward(x)`` returns ``(mu, log_sigma)``, each (N,
  *latent_shape) (:class:`GaussianEncoder` and every image model); or
- **noise-input**: :class:`NoiseInputEncoder`, which has the calls below itself.

:func:`encoding_of` gives the calls :class:`~ali_opt.ali.ALIGame` makes of either kind:

- ``noise_shape(latent_shape)``: the shape of one example's encoder noise epsilon (drawn into
  the batch, so that an evaluation is a function of parameters and batch);
- ``sample(x, epsilon) -> (z_hat, parts)``: a draw of z from q(z | x), and the tensors whose
  statistics a step logs;
- ``statistics(parts)``: those statistics, by name (called without gradients);
- ``code(x)``: a deterministic code of x, for reconstructions, interpolations and the probe.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class ALIModels(NamedTuple):
    """The three networks of ALI and the shapes of one example of z and of x."""

    encoder: nn.Module
    """A :class:`GaussianEncoder` or a :class:`NoiseInputEncoder` (see the module docstring)."""
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


class GaussianEncoding:
    r"""The encoder calls (module docstring) of a Gaussian encoder, q(z | x) = N(mu(x), diag
    sigma(x)^2), reparameterised as in the ALI paper: :math:`\hat z = \mu(x) + \sigma(x) \odot
    \epsilon`, :math:`\epsilon \sim N(0, I)` of z's shape. The code of x is mu(x). Logged:
    ``mu_mean``, ``mu_std``, ``sigma_mean``, ``sigma_min``."""

    def __init__(self, encoder: nn.Module):
        self.encoder = encoder

    @staticmethod
    def noise_shape(latent_shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(latent_shape)

    def sample(self, x: torch.Tensor, epsilon: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        mu, log_sigma = self.encoder(x)
        sigma = log_sigma.exp()
        return mu + sigma * epsilon, {"mu": mu, "sigma": sigma}

    @staticmethod
    def statistics(parts: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        mu, sigma = parts["mu"].float(), parts["sigma"].float()
        return {"mu_mean": mu.mean(), "mu_std": mu.std(), "sigma_mean": sigma.mean(), "sigma_min": sigma.min()}

    def code(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)[0]


def encoding_of(encoder: nn.Module):
    """The encoder calls of ``encoder``: its own for a :class:`NoiseInputEncoder`, else
    :class:`GaussianEncoding`'s (any module returning ``(mu, log_sigma)``)."""
    return encoder if isinstance(encoder, NoiseInputEncoder) else GaussianEncoding(encoder)


class NoiseInputEncoder(nn.Module):
    r"""An implicit q(z | x) by a change of variables: :math:`\hat z = f([x, \epsilon])`, the
    network ``net`` applied to x concatenated (dim 1) with noise :math:`\epsilon \sim N(0, I)`
    of shape ``noise_shape``. The authors' ``COVConditional`` (IshmaelBelghazi/ALI
    ``ali/bricks.py``), the encoder of their final 25-Gaussian script
    (``experiments/ali_mixture.py`` at a7d4235, noise of x's dimension).

    The code of x is f([x, 0]), the image of the noise's mean (the authors' ``reconstruct``
    draws a fresh epsilon instead). Logged: ``z_hat_mean``, ``z_hat_std``.
    """

    def __init__(self, net: nn.Module, noise_shape: tuple[int, ...]):
        super().__init__()
        self.net = net
        self._noise_shape = tuple(noise_shape)

    def forward(self, x: torch.Tensor, epsilon: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, epsilon.to(x.dtype)], dim=1))

    def noise_shape(self, latent_shape: tuple[int, ...]) -> tuple[int, ...]:
        return self._noise_shape

    def sample(self, x: torch.Tensor, epsilon: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        z_hat = self(x, epsilon)
        return z_hat, {"z_hat": z_hat}

    @staticmethod
    def statistics(parts: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        z_hat = parts["z_hat"].float()
        return {"z_hat_mean": z_hat.mean(), "z_hat_std": z_hat.std()}

    def code(self, x: torch.Tensor) -> torch.Tensor:
        return self(x, x.new_zeros((x.shape[0], *self._noise_shape)))

    def extra_repr(self) -> str:
        return f"noise_shape={self._noise_shape}"


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

"""ALI networks by name: ``build_models(name, ...)`` returns encoder, decoder and discriminator.

Conventions every model follows:

- the encoder is Gaussian, ``encoder(x) -> (mu, log_sigma)``, each of shape (N, *latent_shape),
  or takes noise as an input, ``encoder(x, epsilon) -> z`` (``mixture_grid25``);
  :func:`ali_opt.models.networks.encoding_of` gives the calls a game makes of either;
- ``decoder(z) -> x`` of shape (N, *data_shape); image models end in a sigmoid (pixels in
  [0, 1]), ``mlp`` is linear;
- ``discriminator(x, z) -> logits`` of shape (N,); only the discriminator uses dropout.
"""
from __future__ import annotations

import math

import torch

from ali_opt.errors import ConfigError, check_choice, check_positive
from ali_opt.models.architectures import ARCHITECTURES
from ali_opt.models.conv import build_conv_models
from ali_opt.models.mixture_grid25 import build_mixture_grid25_models
from ali_opt.models.mixture_paper import build_mixture_paper_models
from ali_opt.models.mlp import build_mlp_models
from ali_opt.models.networks import ALIModels

VECTOR_BUILDERS = {"mlp": build_mlp_models, "mixture_paper": build_mixture_paper_models,
                   "mixture_grid25": build_mixture_grid25_models}
"""The models of vectors (2-D mixtures) and their builders; the others take images."""

VECTOR_MODELS = tuple(VECTOR_BUILDERS)

MODELS = ("cifar32", "svhn32", "celeba64", "mnist28", *VECTOR_MODELS)

MLP_LATENT_DIM = 2

__all__ = ["MODELS", "VECTOR_MODELS", "ALIModels", "build_models", "data_shape"]


def data_shape(name: str, data_dim: int = 2) -> tuple[int, ...]:
    """The shape of one example of x that model ``name`` takes (``data_dim``: vector models only)."""
    check_choice("model", name, MODELS)
    if name in VECTOR_MODELS:
        return (data_dim,)
    arch = ARCHITECTURES[name]
    return (arch.image_channels, arch.image_size, arch.image_size)


def build_models(name: str, *, width: float = 1.0, pixel_mean: torch.Tensor | float | None = None,
                 data_dim: int = 2, latent_dim: int | None = None, dropout: bool = True) -> ALIModels:
    """The networks of model ``name`` (one of :data:`MODELS`).

    - ``width`` scales every hidden channel count (rounded, at least 1); the latent size and
      the image channels stay as they are, so width 0.25 is the same architecture, narrower.
    - ``pixel_mean``: the training marginals in [0, 1], one mean per pixel and channel
      (C, H, W), or a scalar or one per channel, broadcast (image models only); the decoder's
      untied output bias starts at their log-odds. None means 0.5 (bias 0).
    - ``data_dim``: dimension of x (vector models only: :data:`VECTOR_MODELS`).
    - ``latent_dim``: dimension of z; None means the model's own (64 for cifar32, 128 for
      mnist28, 256 for svhn32 and celeba64, 2 for the vector models).
    - ``dropout``: False switches every dropout layer off (rate 0; the modules stay, so the
      parameters are those of the model with dropout).

    Bad arguments raise :class:`~ali_opt.errors.ConfigError`.
    """
    check_choice("model", name, MODELS)
    check_positive("width", width)
    if not math.isfinite(width):
        raise ConfigError(f"width={width!r} is not valid; it must be a finite positive number")
    if latent_dim is not None:
        check_positive("latent_dim", latent_dim, integer=True)
    if name in VECTOR_MODELS:
        check_positive("data_dim", data_dim, integer=True)
        if pixel_mean is not None:
            raise ConfigError(f"pixel_mean={pixel_mean!r} is not valid for model {name!r}; leave it None")
        build = VECTOR_BUILDERS[name]
        return _without_dropout(build(width=width, data_dim=data_dim, latent_dim=latent_dim or MLP_LATENT_DIM),
                                not dropout)
    arch = ARCHITECTURES[name]
    return _without_dropout(build_conv_models(arch, width=width, latent_dim=latent_dim or arch.latent_dim,
                                              pixel_mean=pixel_mean), not dropout)


def _without_dropout(models: ALIModels, switch_off: bool) -> ALIModels:
    """``models`` with every dropout layer's rate set to 0 when ``switch_off``."""
    if switch_off:
        for network in models[:3]:
            for module in network.modules():
                if isinstance(module, torch.nn.Dropout):
                    module.p = 0.0
    return models

"""Initial parameter values: the ALI paper's Gaussian weights and the decoder's output bias."""
from __future__ import annotations

import torch
from torch import nn

from ali_opt.errors import ConfigError

WEIGHT_STD = 0.01
"""Standard deviation of the Gaussian initial weights of the ALI paper's networks."""

PIXEL_MEAN_CLAMP = 1e-3
"""The output bias uses the mean pixel clamped to [c, 1 - c], which keeps the sigmoid unsaturated."""


def init_gaussian_(module: nn.Module, std: float = WEIGHT_STD) -> None:
    """Weights of every convolution and linear layer in ``module`` ~ N(0, std), biases 0.

    Batch norm keeps its own initialisation (scale 1, shift 0).
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def pixel_log_odds(pixel_mean: torch.Tensor | float | None, channels: int) -> torch.Tensor:
    """The log-odds of the mean training pixel, one value per channel (0 when ``pixel_mean`` is None).

    ``pixel_mean`` is a scalar or one value per channel, in [0, 1]; it is clamped away from 0
    and 1 by :data:`PIXEL_MEAN_CLAMP` so that the bias stays finite.
    """
    if pixel_mean is None:
        return torch.zeros(channels)
    try:
        mean = torch.as_tensor(pixel_mean, dtype=torch.float64).detach().cpu()
    except (TypeError, ValueError, RuntimeError):
        raise ConfigError(
            f"pixel_mean={pixel_mean!r} is not valid; give a number in [0, 1] or one per channel"
        ) from None
    if not (mean.dim() == 0 or mean.dim() == 1 and mean.numel() in (1, channels)):
        raise ConfigError(
            f"pixel_mean of shape {tuple(mean.shape)} is not valid; give a scalar or {channels} values "
            "(one per channel)"
        )
    if not bool(((mean >= 0) & (mean <= 1)).all()):
        raise ConfigError(
            f"pixel_mean={mean.tolist()} is not valid; it must lie in [0, 1] (the mean training pixel "
            "scaled to [0, 1])"
        )
    return torch.logit(mean.clamp(PIXEL_MEAN_CLAMP, 1 - PIXEL_MEAN_CLAMP).expand(channels)).float()

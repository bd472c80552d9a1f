"""Initial parameter values: the ALI paper's Gaussian weights and the decoder's output bias."""
from __future__ import annotations

import torch
from torch import nn

from ali_opt.errors import ConfigError

WEIGHT_STD = 0.01
"""Standard deviation of the Gaussian initial weights of the ALI paper's networks."""

PIXEL_MEAN_CLAMP = 1e-3
"""The output bias uses the pixel means clamped to [c, 1 - c], which keeps the sigmoid unsaturated."""


def init_gaussian_(module: nn.Module, std: float = WEIGHT_STD) -> None:
    """Weights of every convolution and linear layer in ``module`` ~ N(0, std), biases 0.

    Batch norm keeps its own initialisation (scale 1, shift 0).
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def pixel_log_odds(pixel_mean: torch.Tensor | float | None, shape: tuple[int, int, int]) -> torch.Tensor:
    """The log-odds of the training marginals, one value per pixel and channel: (C, H, W) = ``shape``.

    ``pixel_mean`` is the mean of each pixel and channel over the training set, (C, H, W), or
    coarser: one value per channel (C,) or a scalar, broadcast; all in [0, 1]. None gives 0.
    Values are clamped to [c, 1 - c] with c = :data:`PIXEL_MEAN_CLAMP` so that the bias stays
    finite and the sigmoid unsaturated (the original code clamps at 1e-7; the two differ only
    for pixels that are almost always black or white).
    """
    if pixel_mean is None:
        return torch.zeros(shape)
    try:
        mean = torch.as_tensor(pixel_mean, dtype=torch.float64).detach().cpu()
    except (TypeError, ValueError, RuntimeError):
        raise ConfigError(
            f"pixel_mean={pixel_mean!r} is not valid; give a number in [0, 1], one per channel or one per pixel"
        ) from None
    channels = shape[0]
    if mean.dim() == 1 and mean.numel() in (1, channels):
        mean = mean.view(-1, 1, 1)
    elif not (mean.dim() == 0 or tuple(mean.shape) == tuple(shape)):
        raise ConfigError(
            f"pixel_mean of shape {tuple(mean.shape)} is not valid; give a scalar, {channels} values (one per "
            f"channel) or {tuple(shape)} (one per pixel and channel)"
        )
    if not bool(((mean >= 0) & (mean <= 1)).all()):
        raise ConfigError(
            f"pixel_mean is not valid: its values must lie in [0, 1] (training pixels scaled to [0, 1]); "
            f"found {mean.min().item()!r} to {mean.max().item()!r}"
        )
    return torch.logit(mean.clamp(PIXEL_MEAN_CLAMP, 1 - PIXEL_MEAN_CLAMP).expand(shape)).float().contiguous()

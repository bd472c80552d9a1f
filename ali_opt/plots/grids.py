"""Image grids of a trained ALI model: samples, reconstructions, latent interpolations."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def tile(images: torch.Tensor, columns: int, padding: int = 1) -> np.ndarray:
    """Images (N, C, H, W) in [0, 1] laid out row by row into one (rows*H, columns*W, 3) array."""
    images = images.detach().float().clamp(0, 1).cpu()
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    n, channels, height, width = images.shape
    rows = -(-n // columns)
    grid = torch.ones(channels, rows * (height + padding) + padding, columns * (width + padding) + padding)
    for index in range(n):
        top, left = padding + (index // columns) * (height + padding), padding + (index % columns) * (width + padding)
        grid[:, top:top + height, left:left + width] = images[index]
    return grid.permute(1, 2, 0).numpy()


def save_grid(path: Path, images: torch.Tensor, columns: int) -> Path:
    plt.imsave(path, tile(images, columns))
    return path


def interpolate(z_start: torch.Tensor, z_end: torch.Tensor, points: int) -> torch.Tensor:
    """``points`` latent vectors on each segment from ``z_start[i]`` to ``z_end[i]``, row by row."""
    weights = torch.linspace(0, 1, points, device=z_start.device, dtype=z_start.dtype)
    weights = weights.view(1, points, *([1] * (z_start.dim() - 1)))
    return torch.lerp(z_start.unsqueeze(1), z_end.unsqueeze(1), weights).flatten(0, 1)

"""The figure of ALI models trained on a 2-D mixture: samples and reconstructions, one column per model.

The top row shows generated samples :math:`G_x(z)` over the data (grey); the bottom row
shows held-out points :math:`x` joined by a line to their reconstructions
:math:`G_x(G_z(x))` (dots), both coloured by the mode nearest to :math:`x`. Every panel
marks the modes' centers (+) and shows the same square around them; the title says how
many samples lie off it (diverging or not finite). Drawn on matplotlib's Agg canvas (no display needed).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

MARGIN = 0.5
"""Room around the modes' centers, as a fraction of their largest coordinate."""


@dataclass(frozen=True)
class MixtureModel:
    """What the figure shows of one trained model (tensors (N, 2) on any device)."""

    label: str
    samples: torch.Tensor
    """Generated points :math:`G_x(z)`."""
    heldout: torch.Tensor
    """Held-out data points :math:`x`."""
    reconstructions: torch.Tensor
    """:math:`G_x(G_z(x))` for each held-out point, in the same order."""
    covered: int
    """Modes covered by ``samples`` (see :mod:`ali_opt.metrics.mode_coverage`)."""
    high_quality: float
    """Fraction of ``samples`` near some mode."""
    note: str = ""
    """An extra line for the title, such as where the run diverged."""


def plot_mixture(models: Sequence[MixtureModel], data: torch.Tensor, centers: torch.Tensor, path: Path | str,
                 pdf: bool = False) -> list[Path]:
    """Draw ``models`` side by side over ``data`` (N, 2) with the modes' ``centers`` (K, 2);
    write ``path`` as PNG (and PDF); return the paths written."""
    data, centers = _numpy(data), _numpy(centers)
    limit = (1 + MARGIN) * np.abs(centers).max()
    figure = Figure(figsize=(2.8 * len(models) + 0.4, 6.2), layout="constrained")
    axes = figure.subplots(2, len(models), squeeze=False, sharex=True, sharey=True)
    for (top, bottom), model in zip(axes.T, models):
        top.scatter(data[:, 0], data[:, 1], s=2, color="0.8", linewidths=0, rasterized=True)
        samples = _numpy(model.samples)
        top.scatter(samples[:, 0], samples[:, 1], s=2, color="C0", linewidths=0, alpha=0.5, rasterized=True)
        _draw_reconstructions(bottom, _numpy(model.heldout), _numpy(model.reconstructions), centers)
        lines = [model.label, f"{model.covered}/{len(centers)} modes, {model.high_quality:.0%} high quality"]
        off_panel = 1 - (np.abs(samples) <= limit).all(axis=1).mean()
        if off_panel:
            lines.append(f"{off_panel:.1%} of samples off the panel")
        if model.note:
            lines.append(model.note)
        top.set_title("\n".join(lines), fontsize="medium")
        for ax in (top, bottom):
            ax.scatter(centers[:, 0], centers[:, 1], marker="+", s=40, color="black", linewidths=1)
            ax.set_xlim(-limit, limit)
            ax.set_ylim(-limit, limit)
            ax.set_aspect("equal")
            ax.tick_params(labelsize="x-small")
    axes[0, 0].set_ylabel(r"samples $G_x(z)$ over the data")
    axes[1, 0].set_ylabel(r"$x$ — reconstruction $G_x(G_z(x))$")
    written = [Path(path).with_suffix(".png")] + ([Path(path).with_suffix(".pdf")] if pdf else [])
    for target in written:
        figure.savefig(target, dpi=120)
    return written


def _draw_reconstructions(ax, heldout: np.ndarray, reconstructions: np.ndarray, centers: np.ndarray) -> None:
    """Lines from each held-out point to its reconstruction (a dot), coloured by the point's nearest mode."""
    nearest = np.linalg.norm(heldout[:, None] - centers[None], axis=2).argmin(axis=1)
    colours = _mode_colours(len(centers))[nearest]
    ax.add_collection(LineCollection(np.stack([heldout, reconstructions], axis=1), colors=colours, linewidths=0.5,
                                     alpha=0.6))
    ax.scatter(reconstructions[:, 0], reconstructions[:, 1], s=5, color=colours, linewidths=0)


def _mode_colours(modes: int) -> np.ndarray:
    """One RGBA colour per mode, spread around the hue circle."""
    return colormaps["hsv"](np.arange(modes) / modes)


def _numpy(points: torch.Tensor) -> np.ndarray:
    return points.detach().float().cpu().numpy()

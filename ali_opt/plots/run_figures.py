"""Figures of one trained run, as the reproductions of ALI show them: samples beside real
images, and both players' losses against epochs (passes over the training images).

Drawing only: the images and the run's logged curves come in as arguments
(:mod:`ali_opt.plots.trained_run` restores them from a run folder).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from ..records.runs import Run  # noqa: E402
from .curves import EQUILIBRIUM_LOSS  # noqa: E402
from .grids import tile  # noqa: E402

LOSSES = (("loss_d", "discriminator"), ("loss_g", "generator"))
"""The logged losses drawn, with their legend names."""


def samples_beside_real(samples: torch.Tensor, real: torch.Tensor, path: Path, columns: int = 10) -> Path:
    """Two grids side by side, each ``columns`` wide: generated ``samples`` (left) and ``real``
    images (right), float (N, C, H, W) in [0, 1]."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 5.4))
    for axis, images, title in ((axes[0], samples, "samples G(z), z ~ N(0, I)"), (axes[1], real, "real test images")):
        axis.imshow(tile(images, columns), interpolation="nearest")
        axis.set_title(title)
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def epochs(steps, batch_size: int, train_images: int):
    """Epochs at ``steps``: step t has drawn t * ``batch_size`` training images, one epoch
    being ``train_images`` of them (batches are drawn with replacement, so an epoch is a count
    of images, not a pass over each one)."""
    return steps * batch_size / train_images


def losses_against_epochs(run: Run, train_images: int, path: Path) -> Path:
    """``loss_d`` and ``loss_g`` of ``run`` against epochs (:func:`epochs`), with the loss
    2 log 2 both players have when the discriminator outputs 1/2 everywhere."""
    figure, axis = plt.subplots(figsize=(7, 4))
    for name, label in LOSSES:
        steps, values = run.curve(name)
        axis.plot(epochs(steps, run.config["batch_size"], train_images), values, label=f"{label} ({name})", lw=1.2)
    axis.axhline(EQUILIBRIUM_LOSS, color="0.45", linestyle="--", lw=1,
                 label=f"D(x, z) = 1/2 everywhere: 2 log 2 = {EQUILIBRIUM_LOSS:.3f}")
    axis.set_xlabel(f"epoch ({train_images} training images, batch {run.config['batch_size']})")
    axis.set_ylabel("loss (logged every log_every steps)")
    lr = run.config.get("optimizer", {}).get("lr", {})
    steps = ", ".join(f"{player.upper()} {lr[player]:g}" for player in ("d", "g") if player in lr)
    axis.set_title(f"Losses: {run.optimizer_name}" + (f", steps {steps}" if steps else ""))
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path

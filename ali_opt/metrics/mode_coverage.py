"""How well samples of a 2-D mixture cover its modes, after the "modes captured" and
"high-quality samples" of Srivastava et al. (2017, VEEGAN) on the ring and the grid.

A sample lies *near* a mode when it is within :data:`RADIUS_STDS` standard deviations of the
mode's center. A mode is *covered* when at least ``min_fraction`` of its fair share of the
samples lies near it, and at least one sample: with N samples and K modes,
``count >= max(min_fraction * N / K, 1)`` (``min_fraction=0`` asks for one sample). A sample
is of *high quality* when it lies near some mode.
"""
from __future__ import annotations

import torch

RADIUS_STDS = 3.0
"""How many standard deviations from a mode's center a sample may lie and still count for it."""

MIN_FRACTION = 0.1
"""The default share of a mode's fair share (N / K samples) that covers it."""


def modes_covered(samples: torch.Tensor, centers: torch.Tensor, std: float,
                  min_fraction: float = MIN_FRACTION) -> tuple[int, torch.Tensor]:
    """The number of modes covered, and the samples (N, 2) near each of the ``centers`` (K, 2).

    The counts are an int64 tensor (K,) on the CPU; a sample near two modes counts for both.
    """
    per_mode = _near(samples, centers, std).sum(dim=0).cpu()
    needed = max(min_fraction * len(samples) / len(centers), 1)
    return int((per_mode >= needed).sum()), per_mode


def high_quality_fraction(samples: torch.Tensor, centers: torch.Tensor, std: float) -> float:
    """The fraction of ``samples`` (N, 2) that lie near some mode; NaN without samples."""
    if not len(samples):
        return float("nan")
    return _near(samples, centers, std).any(dim=1).float().mean().item()


def _near(samples: torch.Tensor, centers: torch.Tensor, std: float) -> torch.Tensor:
    """(N, K) booleans: sample n lies within :data:`RADIUS_STDS` standard deviations of center k.

    Non-finite samples (from a diverged generator) lie near nothing.
    """
    offsets = samples.float().unsqueeze(1) - centers.to(samples.device, torch.float32).unsqueeze(0)
    return offsets.norm(dim=2) <= RADIUS_STDS * std


def modes_by_responsibility(samples: torch.Tensor, centers: torch.Tensor) -> tuple[int, torch.Tensor]:
    """The ALI paper's count (Dumoulin et al. 2016, Section 5): each sample is assigned to the
    component with the highest responsibility, and a mode is covered when it gets at least one
    sample. With equally likely components of one isotropic standard deviation, the highest
    responsibility is the nearest center. Returns the count and the samples per mode (K,) on the
    CPU; non-finite samples are assigned to no mode.

    This count rewards a generator that spreads its samples over the whole plane as much as one
    that learned the modes; read it beside :func:`modes_covered` and :func:`high_quality_fraction`.
    """
    samples = samples.float()
    finite = samples.isfinite().all(dim=1)
    distances = torch.cdist(samples[finite], centers.to(samples.device, torch.float32))
    per_mode = torch.bincount(distances.argmin(dim=1).cpu(), minlength=len(centers))
    return int((per_mode >= 1).sum()), per_mode

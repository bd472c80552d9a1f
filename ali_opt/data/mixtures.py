"""2-D mixtures of Gaussians, the standard toy targets of the GAN literature.

``ring``: 8 modes evenly spaced on a circle of radius 2, standard deviation 0.02.
``grid``: 25 modes at {-4, -2, 0, 2, 4}^2, standard deviation 0.05.
Modes are equally likely.
"""
from __future__ import annotations

import math

import torch

from ali_opt.errors import check_choice, check_positive

MIXTURES = ("ring", "grid")

_STD = {"ring": 0.02, "grid": 0.05}


def mixture_centers(kind: str) -> torch.Tensor:
    """The modes of mixture ``kind`` (one of :data:`MIXTURES`), a float32 tensor (K, 2) on the CPU."""
    check_choice("mixture", kind, MIXTURES)
    if kind == "ring":
        angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
        centers = 2 * torch.stack((angles.cos(), angles.sin()), dim=1)
    else:
        values = torch.arange(-4, 5, 2, dtype=torch.float64)
        centers = torch.cartesian_prod(values, values)
    return centers.float()


def mixture_std(kind: str) -> float:
    """The standard deviation of every mode of mixture ``kind``."""
    check_choice("mixture", kind, MIXTURES)
    return _STD[kind]


def sample_mixture(kind: str, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points (n, 2) of mixture ``kind``, float32, on the generator's device (CPU without one)."""
    check_positive("n", n, integer=True)
    device = generator.device if generator is not None else torch.device("cpu")
    centers = mixture_centers(kind).to(device)
    modes = torch.randint(len(centers), (n,), generator=generator, device=device)
    noise = torch.randn(n, 2, generator=generator, device=device)
    return centers[modes] + mixture_std(kind) * noise

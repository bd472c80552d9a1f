"""Sample quality in tests: a tiny TorchScript feature network (16-d) that stands in for
Inception, so that runs logging FID, KID, precision and recall take seconds; the
``sample_quality`` settings, data and datasets the tests train and evaluate on; the logged names."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from ali_opt.data import Dataset

SAMPLE_NAMES = {"fid", "kid", "kid_std", "precision", "recall", "coverage", "density"}
"""What a run logs against the held-out (test) images at every evaluation."""

VALID_NAMES = ({f"{name}_valid" for name in ("fid", "kid", "precision", "recall", "coverage", "density")}
               | {"kid_valid_std"})
"""What a run logs against the validation images at every evaluation."""

FLOOR_NAMES = {"fid_floor", "kid_floor", "precision_floor", "recall_floor", "coverage_floor", "density_floor"}
"""The real-vs-real floors a run logs at step 0."""


class TinyFeatures(torch.nn.Module):
    """(N, 3, 299, 299) -> (N, 16): a 4x4 average pool and a fixed linear map."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(48, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.nn.functional.adaptive_avg_pool2d(x, 4).flatten(1))


def write_tiny_feature_network(path: Path) -> Path:
    """:class:`TinyFeatures` (weights from seed 0) saved as a TorchScript file at ``path``."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script and save, deprecated in torch 2.9+
        torch.jit.save(torch.jit.script(TinyFeatures()), str(path))
    return path


def quality(network: Path, tmp_path: Path, **updates) -> dict:
    """A run's ``sample_quality`` with ``network``: 12 samples against 16 real images, the cache in ``tmp_path``."""
    settings = {"samples": 12, "network": str(network), "sha256": "", "precision": "fp32", "real_images": 16,
                "kid_subsets": 5, "kid_subset_size": 8, "k": 3, "cache": str(tmp_path / "cache")}
    return {**settings, **updates}


def data(images: Path, validation: int = 16) -> dict:
    """A run's ``data``: the tiny image file of the ``images`` fixture, 16 held-out and ``validation`` images."""
    return {"name": "images", "root": str(images), "heldout": 16, "validation": validation}


def metrics_of(folder: Path) -> dict:
    """The metrics logged by the first run recorded in ``folder``."""
    return json.loads((folder / "1" / "metrics.json").read_text())


def tiny_dataset(validation: bool) -> Dataset:
    """60 random 32x32 images: 30 training, 15 held-out and (with ``validation``) 15 validation images."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (60, 3, 32, 32), dtype=torch.uint8, generator=generator)
    return Dataset("tiny", images[:30], images[30:45], images[45:] if validation else None)

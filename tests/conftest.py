"""Fixtures shared by the tests that train ALI: a tiny image dataset and a tiny training config."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def images(tmp_path_factory) -> Path:
    """A tiny image dataset: 96 random 32x32 RGB images as an .npz file."""
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, images=np.random.default_rng(0).integers(0, 256, (96, 32, 32, 3), dtype=np.uint8))
    return path


def tiny_config(images: Path, output: Path, **updates) -> dict:
    """A training config that runs in seconds on a CPU: cifar32 at 1/8 width, batch 8, 20 steps."""
    config = {
        "model": "cifar32", "width": 0.125, "batch_size": 8, "steps": 20, "log_every": 5, "eval_every": 10,
        "eval_batch_size": 16, "checkpoint_every": 10, "device": "cpu", "output": str(output), "progress": False,
        "data": {"name": "images", "root": str(images), "heldout": 16},
    }
    config.update(updates)
    return config

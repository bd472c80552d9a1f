"""A training config that runs in seconds on a CPU."""
from __future__ import annotations

from pathlib import Path


def tiny_config(images: Path, output: Path, **updates) -> dict:
    """A training config that runs in seconds on a CPU: cifar32 at 1/8 width, batch 8, 20 steps."""
    config = {
        "model": "cifar32", "width": 0.125, "batch_size": 8, "steps": 20, "log_every": 5, "eval_every": 10,
        "eval_batch_size": 16, "checkpoint_every": 10, "device": "cpu", "output": str(output), "progress": False,
        "data": {"name": "images", "root": str(images), "heldout": 16},
        # sample quality off, whatever a study's defaults say: its own tests switch it on with a tiny network
        "sample_quality": {"samples": 0},
    }
    config.update(updates)
    return config


def study_config(images: Path, output: Path, **updates) -> dict:
    """:func:`tiny_config` for the main study: without sample quality its default ``select_by``
    (``kid_valid``) is not logged, so the selection falls back to what is (``None``)."""
    return tiny_config(images, output, **{"select_by": None, **updates})

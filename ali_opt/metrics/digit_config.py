"""A run's ``digits`` config: its keys and check, and the names of the digit-level measures it logs.

One home for what a config alone tells about the digit-level measures
(:mod:`ali_opt.metrics.run_digit_measures` computes them): they are logged on MNIST
(``data.name=mnist``) with ``digits.samples`` > 0, against the held-out (test) images and,
with ``data.validation`` > 0, also against the validation images (the ``_valid`` names, on
which a sweep may select a step size).
"""
from __future__ import annotations

from ..errors import ConfigError, check_integer

DIGITS_KEYS = ("samples", "images")
"""The keys of a run's ``digits`` config (defaults in :func:`ali_opt.config.training_defaults`)."""

DIGIT_DATASET = "mnist"
"""The dataset whose runs log the digit-level measures."""

DIGIT_METRICS = ("class_fid", "class_kid", "modes", "class_kl", "recon_class_accuracy")
"""The digit-level measures logged at every evaluation, against the test images."""

DIGIT_VALIDATION_METRICS = ("class_fid_valid", "class_kid_valid", "class_kl_valid", "recon_class_accuracy_valid")
"""The same measures against the validation images (``modes`` reads the samples alone: it has no
validation variant)."""


def check_digits(config: dict) -> None:
    """Raise :class:`ConfigError` (one line) for a bad ``digits``: a dict of ``samples`` (0: off,
    else at least 2) and ``images`` (at least 2)."""
    digits = config["digits"]
    if not isinstance(digits, dict) or set(digits) != set(DIGITS_KEYS):
        raise ConfigError(f"digits={digits!r} is not valid; give a dict with {', '.join(DIGITS_KEYS)}")
    check_integer("digits.samples", digits["samples"], note="0: off")
    check_integer("digits.images", digits["images"], minimum=2)
    if digits["samples"] == 1:
        raise ConfigError("digits.samples=1 is not valid; class_fid needs at least 2 samples (0: off)")


def digits_configured(config: dict) -> bool:
    """Whether a run of ``config`` logs the digit-level measures (on data that has the labels). A
    ``data`` without a name (a part of a config, checked alone) is not MNIST."""
    return config["data"].get("name") == DIGIT_DATASET and config["digits"]["samples"] > 0


def digit_validation_metrics(config: dict) -> tuple[str, ...]:
    """:data:`DIGIT_VALIDATION_METRICS` when a run of ``config`` logs them (digits on and
    ``data.validation`` >= 2), else ()."""
    return DIGIT_VALIDATION_METRICS if digits_configured(config) and config["data"]["validation"] >= 2 else ()

"""Digit-level measures at every evaluation of an MNIST run, and their baselines at step 0.

On by default for MNIST (``data.name=mnist``) and only there: ``digits.samples`` > 0 (the
default, 1000) and a dataset named ``mnist`` with labelled training and held-out images.
Other datasets have no digit classes, so they ignore ``digits``; ``digits.samples=0`` turns
the measures off on MNIST. The digit classifier (:mod:`ali_opt.metrics.digit_classifier`) is
trained on the run's training split (the validation split and the held-out images left out)
at the first evaluation that needs it, in about 30 s on one CPU thread, then read from the
cache folder of the Inception features (``sample_quality.cache``, default
``$XDG_CACHE_HOME/ali-opt``) by every later evaluation and run on the same data.

At every evaluation, with ``samples`` images generated from fixed prior draws (seed
:data:`~ali_opt.metrics.evaluation.SAMPLE_SEED`, as sample quality; evaluation mode, so a
run's trajectory is untouched) and the first ``images`` held-out (test) images
(:mod:`ali_opt.metrics.digit_measures`):

- ``class_fid``, ``class_kid``: the samples' classifier features against the test images';
- ``modes``: digit classes holding at least 10% of a fair share of the samples;
- ``class_kl``: KL of the samples' predicted-class histogram from the test labels' histogram;
- ``recon_class_accuracy``: test images whose reconstruction G(E(x)) is classified as x's label.

At step 0, the baselines of real images: ``classifier_accuracy`` (the classifier on the test
images themselves: the ceiling of ``recon_class_accuracy``) and the real-vs-real floors
``class_fid_floor``, ``class_kid_floor``, ``modes_floor``, ``class_kl_floor``: the first
``samples`` *training* images measured as if they were samples. These are computed outside
the step-0 cache of sample quality (:mod:`ali_opt.metrics.untrained_metrics_cache`), whose key
does not hold ``digits``.
"""
from __future__ import annotations

import torch

from ..ali import ALIGame
from ..data import Dataset
from ..errors import ConfigError, check_integer
from .digit_classifier import DigitClassifier, cached_classifier, classify
from .digit_measures import class_fid, class_kid, class_kl, modes, recon_class_accuracy
from .feature_cache import cache_folder
from .reconstruction import evaluation_mode
from .run_sample_quality import generated_images

DIGITS_KEYS = ("samples", "images")
"""The keys of a run's ``digits`` config (defaults in :func:`ali_opt.config.training_defaults`)."""

DIGIT_DATASET = "mnist"
"""The dataset whose runs log the digit-level measures."""

DIGIT_METRICS = ("class_fid", "class_kid", "modes", "class_kl", "recon_class_accuracy")
"""The digit-level measures logged at every evaluation."""


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


def digits_on(config: dict, dataset: Dataset) -> bool:
    """Whether evaluations of this run log the digit-level measures (see the module docstring)."""
    return (config["digits"]["samples"] > 0 and dataset.name == DIGIT_DATASET
            and {"train", "heldout"} <= set(dataset.labels) and len(dataset.heldout) >= 2)


def run_classifier(dataset: Dataset, config: dict) -> DigitClassifier:
    """The digit classifier of ``dataset``'s training split, from the cache when trained before."""
    images = next(dataset.batches("train", len(dataset.train)))
    return cached_classifier(images, dataset.labels["train"], cache_folder(config["sample_quality"]))


def prepare_classifier(config: dict, dataset: Dataset) -> None:
    """Train (or read) the run's classifier now, when the run logs digit measures. A sweep may
    call it once before starting its cells, so that cells running at once do not all train
    the same classifier (each would, correctly, but in vain)."""
    if digits_on(config, dataset):
        run_classifier(dataset, config)


def digit_metrics(game: ALIGame, dataset: Dataset, config: dict, seed: int,
                  step: int | None = None) -> dict[str, float]:
    """The digit-level measures of the module docstring, with the baselines at ``step`` 0;
    {} when :func:`digits_on` is false. Prior draws are seeded with ``seed``."""
    if not digits_on(config, dataset):
        return {}
    samples, count, batch_size = config["digits"]["samples"], config["digits"]["images"], config["eval_batch_size"]
    classifier = run_classifier(dataset, config)
    test = next(dataset.batches("heldout", count, count))
    labels = dataset.labels["heldout"][:count]
    test_features = classify(classifier, test, batch_size)[0]
    generated = generated_images(game, samples, batch_size, dataset.train.device, seed)
    metrics = sample_measures(test_features, labels, *classify(classifier, generated, batch_size), suffix="")
    with evaluation_mode(game):
        reconstructions = torch.cat([game.reconstruct(x) for x in dataset.batches("heldout", batch_size, count)])
    metrics["recon_class_accuracy"] = recon_class_accuracy(classifier, reconstructions, labels, batch_size)
    if step == 0:
        metrics["classifier_accuracy"] = recon_class_accuracy(classifier, test, labels, batch_size)
        train = next(dataset.batches("train", samples, samples))
        metrics.update(sample_measures(test_features, labels, *classify(classifier, train, batch_size),
                                       suffix="_floor"))
    return metrics


def sample_measures(test_features: torch.Tensor, test_labels: torch.Tensor, features: torch.Tensor,
                    predictions: torch.Tensor, suffix: str) -> dict[str, float]:
    """``class_fid``, ``class_kid``, ``modes`` and ``class_kl`` (each name followed by ``suffix``)
    of images with classifier ``features`` and ``predictions``, against the test images."""
    return {f"class_fid{suffix}": class_fid(test_features, features),
            f"class_kid{suffix}": class_kid(test_features, features),
            f"modes{suffix}": float(modes(predictions)),
            f"class_kl{suffix}": class_kl(predictions, test_labels)}

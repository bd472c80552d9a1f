"""Digit-level measures at every evaluation of an MNIST run, and their baselines at step 0.

On by default for MNIST (``data.name=mnist``) and only there: ``digits.samples`` > 0 (the
default, 1000) and a dataset named ``mnist`` with labelled training and held-out images.
Other datasets have no digit classes, so they ignore ``digits``; ``digits.samples=0`` turns
the measures off on MNIST. The digit classifier (:mod:`ali_opt.metrics.digit_classifier`) is
trained on the run's training split (the validation split and the held-out images left out)
at the first evaluation that needs it, in about a minute on one CPU thread, then read from the
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

With a labelled validation split of at least 2 images (``data.validation`` >= 2), the same
samples are also measured against the first ``images`` validation images, and those images
reconstructed: ``class_fid_valid``, ``class_kid_valid``, ``class_kl_valid`` and
``recon_class_accuracy_valid`` (:data:`~ali_opt.metrics.digit_config.DIGIT_VALIDATION_METRICS`),
on which a sweep may select (``select_by``) without reading the test images. ``modes`` reads the
samples alone, so it has no validation variant. The test-image values do not change with them.

At step 0, the baselines of real images: ``classifier_accuracy`` (the classifier on the test
images themselves: the ceiling of ``recon_class_accuracy``) and the real-vs-real floors
``class_fid_floor``, ``class_kid_floor``, ``modes_floor``, ``class_kl_floor``: the first
``samples`` *training* images measured as if they were samples. These are computed outside
the step-0 cache of sample quality (:mod:`ali_opt.metrics.untrained_metrics_cache`), whose key
does not hold ``digits``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..ali import ALIGame
from ..data import Dataset
from .digit_classifier import DigitClassifier, cached_classifier, classify
from .digit_config import DIGIT_DATASET, DIGIT_METRICS, check_digits  # noqa: F401 (the last two re-exported)
from .digit_measures import class_fid, class_kid, class_kl, modes, recon_class_accuracy
from .feature_cache import cache_folder
from .reconstruction import evaluation_mode
from .run_sample_quality import generated_images


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
    samples, batch_size = config["digits"]["samples"], config["eval_batch_size"]
    classifier = run_classifier(dataset, config)
    generated = classify(classifier, generated_images(game, samples, batch_size, dataset.train.device, seed),
                         batch_size)
    metrics = {}
    for split, suffix in reference_splits(dataset):
        reference = ReferenceImages.of(dataset, split, config["digits"]["images"], classifier, batch_size)
        measured = sample_measures(reference.features, reference.labels, *generated, suffix=suffix)
        if suffix:
            del measured[f"modes{suffix}"]  # modes reads the samples alone: logged once, as ``modes``
        metrics.update(measured)
        metrics[f"recon_class_accuracy{suffix}"] = reference.recon_class_accuracy(game, classifier, batch_size)
        if step == 0 and not suffix:
            metrics["classifier_accuracy"] = recon_class_accuracy(classifier, reference.images, reference.labels,
                                                                  batch_size)
            train = next(dataset.batches("train", samples, samples))
            metrics.update(sample_measures(reference.features, reference.labels,
                                           *classify(classifier, train, batch_size), suffix="_floor"))
    return metrics


def reference_splits(dataset: Dataset) -> list[tuple[str, str]]:
    """``(split, suffix)`` of the labelled real images the samples and reconstructions are measured
    against: the held-out (test) images (no suffix) and, when there are at least 2 labelled
    ones, the validation images (``_valid``)."""
    splits = [("heldout", "")]
    if "validation" in dataset.labels and len(dataset.validation) >= 2:
        splits.append(("validation", "_valid"))
    return splits


@dataclass(frozen=True)
class ReferenceImages:
    """The first ``count`` images of a labelled split, their labels and classifier features."""

    split: str
    images: torch.Tensor
    labels: torch.Tensor
    features: torch.Tensor

    @classmethod
    def of(cls, dataset: Dataset, split: str, count: int, classifier: DigitClassifier,
           batch_size: int) -> ReferenceImages:
        count = min(count, len(dataset.labels[split]))
        images = next(dataset.batches(split, count, count))
        return cls(split, images, dataset.labels[split][:count], classify(classifier, images, batch_size)[0])

    def recon_class_accuracy(self, game: ALIGame, classifier: DigitClassifier, batch_size: int) -> float:
        """The fraction of these images whose reconstruction G(E(x)) is classified as x's label."""
        count = len(self.labels)
        with evaluation_mode(game):
            reconstructions = torch.cat([game.reconstruct(self.images[start:start + batch_size])
                                         for start in range(0, count, batch_size)])
        return recon_class_accuracy(classifier, reconstructions, self.labels, batch_size)


def sample_measures(real_features: torch.Tensor, real_labels: torch.Tensor, features: torch.Tensor,
                    predictions: torch.Tensor, suffix: str) -> dict[str, float]:
    """``class_fid``, ``class_kid``, ``modes`` and ``class_kl`` (each name followed by ``suffix``)
    of images with classifier ``features`` and ``predictions``, against real images (the test
    or the validation images) with ``real_features`` and ``real_labels``."""
    return {f"class_fid{suffix}": class_fid(real_features, features),
            f"class_kid{suffix}": class_kid(real_features, features),
            f"modes{suffix}": float(modes(predictions)),
            f"class_kl{suffix}": class_kl(predictions, real_labels)}

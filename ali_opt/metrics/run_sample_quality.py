"""Sample quality at every evaluation of a run, and the baselines logged at step 0.

With ``sample_quality.samples`` > 0 and image data, every evaluation generates ``samples``
images from fixed prior draws (a generator of its own seeded with
:data:`~ali_opt.metrics.evaluation.SAMPLE_SEED`, as ``sample_diversity``; the networks in evaluation mode, so
evaluating never changes a run's trajectory), computes their Inception features in one pass
(:mod:`ali_opt.metrics.inception`; the network is loaded once per process) and compares them
with real images' features (:mod:`ali_opt.metrics.sample_quality`):

- against the first ``real_images`` held-out (test) images: ``fid``, ``kid``, ``kid_std``,
  ``precision``, ``recall``, ``coverage``, ``density``;
- against the first ``real_images`` validation images (when ``data.validation`` > 0):
  ``fid_valid``, ``kid_valid``, ``kid_valid_std``, ``precision_valid``, ``recall_valid``,
  ``coverage_valid``, ``density_valid`` (what a sweep selects on: ``select_by``).

FID takes the exact low-rank route (:func:`~ali_opt.metrics.sample_quality.frechet_distance_to_reference`):
each real set's mean and covariance square root are computed once. KID is the mean over
``kid_subsets`` subsets of ``kid_subset_size`` rows (``kid_std``: their spread, not a standard
error); precision and recall use ``k`` nearest neighbours, coverage and density
:data:`~ali_opt.metrics.sample_quality.COVERAGE_K` (5) real neighbours (Naeem et al. 2020):
unlike recall, coverage grades a generator that covers part of the data.

At step 0 (the untrained model) the baselines are logged as well (:func:`step0_baselines`):
``recon_mse_mean_image`` (image data) and, with sample quality on, the real-vs-real floors
``fid_floor``, ``kid_floor``, ``precision_floor``, ``recall_floor``, ``coverage_floor``,
``density_floor``.

The network and the real images' features are loaded and cached by
:mod:`ali_opt.metrics.feature_cache`; the whole step-0 dict is cached by
:mod:`ali_opt.metrics.untrained_metrics_cache`; the config is checked by
:mod:`ali_opt.metrics.sample_quality_config`.
"""
from __future__ import annotations

import torch

from ..ali import ALIGame
from ..data import Dataset
from .feature_cache import RealSet, network_of, real_set
from .reconstruction import evaluation_mode
from .sample_quality import (COVERAGE_K, coverage_density, frechet_distance_to_reference, kernel_inception_distance,
                             precision_recall)
from .sample_quality_config import sample_quality_on

SAMPLE_METRICS = ("fid", "kid", "precision", "recall", "coverage", "density")
"""The sample-quality metrics; each is logged for the test images, with ``_valid`` for the
validation images and, at step 0, with ``_floor`` for real-vs-real."""

SPLIT_SUFFIXES = {"heldout": "", "validation": "_valid"}
"""The real set behind each name: ``fid`` against the held-out images, ``fid_valid`` the validation images."""


def compare(real: RealSet, fake: torch.Tensor, quality: dict, suffix: str) -> dict[str, float]:
    """FID, KID (and its spread), precision, recall, coverage and density of ``fake`` features
    against ``real``, named ``fid{suffix}``, ``kid{suffix}``, ``kid{suffix}_std``,
    ``precision{suffix}``, ``recall{suffix}``, ``coverage{suffix}``, ``density{suffix}``."""
    kid, kid_std = kernel_inception_distance(real.features, fake, subsets=quality["kid_subsets"],
                                             subset_size=quality["kid_subset_size"])
    precision, recall = precision_recall(real.features, fake, k=quality["k"])
    coverage, density = coverage_density(real.features, fake, k=COVERAGE_K)
    return {f"fid{suffix}": frechet_distance_to_reference(fake, real.reference), f"kid{suffix}": kid,
            f"kid{suffix}_std": kid_std, f"precision{suffix}": precision, f"recall{suffix}": recall,
            f"coverage{suffix}": coverage, f"density{suffix}": density}


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
    """FID, KID, precision, recall, coverage and density of ``sample_quality.samples`` images generated from prior
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
    ``kid_floor``, ``precision_floor``, ``recall_floor``, ``coverage_floor``, ``density_floor``:
    the features of the first ``real_images`` *training* images against those of the validation
    images (against the held-out test images when there is no validation split), i.e. what a
    generator that draws the data itself would score at this sample size, up to sampling noise."""
    if dataset.pixel_mean is None:
        return {}
    metrics = {}
    if len(dataset.heldout):
        metrics["recon_mse_mean_image"] = mean_image_mse(dataset, config["eval_batch_size"])
    if sample_quality_on(config, dataset):
        network = network_of(config, dataset.train.device)
        reference = (real_set(dataset, "validation", config, network)
                     or real_set(dataset, "heldout", config, network))
        train = real_set(dataset, "train", config, network)
        if reference is not None and train is not None:
            floors = compare(reference, train.features, config["sample_quality"], "_floor")
            metrics.update({f"{name}_floor": floors[f"{name}_floor"] for name in SAMPLE_METRICS})
    return metrics


def prepare_real_sets(config: dict, dataset: Dataset) -> None:
    """Compute and cache the features and references of every real set a run of ``config``
    compares with (held-out, validation, and the training images of the step-0 floors), when
    sample quality is on. A sweep may call it once before starting its cells, so that cells
    running at once do not all compute the same features (each would, correctly, but in vain)."""
    if not sample_quality_on(config, dataset):
        return
    network = network_of(config, dataset.train.device)
    for split in ("heldout", "validation", "train"):
        real_set(dataset, split, config, network)

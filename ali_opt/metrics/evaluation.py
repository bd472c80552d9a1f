"""The evaluation metrics besides held-out MSE, logged at every evaluation of a run.

- ``recon_mse_valid``: reconstruction MSE on the validation split (carved from the training
  images, never trained on; logged when ``data.validation`` > 0). Studies select on it.
- ``probe_accuracy``: a linear probe of the encoder (:mod:`ali_opt.metrics.probe`), fitted on the
  first ``probe.images`` training images and scored on the held-out images (logged when
  ``probe.images`` > 0 and the data has labels).
- ``sample_diversity``: generated images' spread against the data's (:mod:`ali_opt.metrics.diversity`),
  over ``diversity_samples`` images of each (logged when it is >= 2).
- sample quality, with ``sample_quality.samples`` > 0 on image data
  (:mod:`ali_opt.metrics.run_sample_quality`): ``fid``, ``kid``, ``kid_std``, ``precision``,
  ``recall`` against the held-out images, and ``fid_valid``, ``kid_valid``, ``kid_valid_std``,
  ``precision_valid``, ``recall_valid`` against the validation images (when ``data.validation`` > 0).
- at step 0 only (the untrained model), the baselines: ``recon_mse_mean_image`` (image data)
  and, with sample quality on, ``fid_floor``, ``kid_floor``, ``precision_floor``,
  ``recall_floor`` (:func:`~ali_opt.metrics.run_sample_quality.step0_baselines`). With
  sample quality on, the whole step-0 dict is cached on disk, keyed by the game's state, the
  data and the evaluation config (:mod:`ali_opt.metrics.untrained_metrics_cache`): the cells
  of a sweep that share a seed share it.
- on MNIST, the digit-level measures (:mod:`ali_opt.metrics.run_digit_measures`, ``digits``):
  ``class_fid``, ``class_kid``, ``modes``, ``class_kl``, ``recon_class_accuracy``, and at
  step 0 ``classifier_accuracy`` and the floors ``class_fid_floor``, ``class_kid_floor``,
  ``modes_floor``, ``class_kl_floor`` (computed at every evaluation, step 0 included, outside
  the step-0 cache).

Everything here runs in evaluation mode and draws its prior samples from its own generator
(seed :data:`SAMPLE_SEED`), so evaluating never changes a run's trajectory.
"""
from __future__ import annotations

import torch

from ..ali import ALIGame
from ..data import Dataset
from .diversity import diversity_ratio
from ..errors import ConfigError, check_choice, check_integer
from .reconstruction import evaluation_mode, reconstruction_mse
from .probe import FEATURES, encoder_features, fit_and_score
from . import untrained_metrics_cache
from .run_digit_measures import check_digits, digit_metrics
from .run_sample_quality import sample_quality_metrics, step0_baselines
from .sample_quality_config import check_sample_quality, check_selection_config, sample_quality_on

SAMPLE_SEED = 0
"""Seed of the prior draws behind ``sample_diversity`` and sample quality (the same z at every evaluation)."""


def check_quality_config(config: dict) -> None:
    """Raise :class:`ConfigError` for a bad ``probe``, ``diversity_samples`` or ``sample_quality``
    (a missing network file or a wrong hash included), and for bad selection settings
    (``select_by`` naming a metric this config does not log:
    :func:`~ali_opt.metrics.sample_quality_config.check_selection_config`)."""
    probe = config["probe"]
    if not isinstance(probe, dict) or set(probe) != {"images", "features", "l2"}:
        raise ConfigError(f"probe={probe!r} is not valid; give a dict with images, features and l2")
    for key, value in (("probe.images", probe["images"]), ("diversity_samples", config["diversity_samples"])):
        check_integer(key, value, note="0: not measured")
    check_choice("probe.features", probe["features"], FEATURES)
    if isinstance(probe["l2"], bool) or not isinstance(probe["l2"], (int, float)) or not probe["l2"] >= 0:
        raise ConfigError(f"probe.l2={probe['l2']!r} is not valid; it must be a number >= 0")
    if config["diversity_samples"] == 1:
        raise ConfigError("diversity_samples=1 is not valid; it needs at least 2 images (0: not measured)")
    check_sample_quality(config)
    check_selection_config(config)
    check_digits(config)


def quality_metrics(game: ALIGame, dataset: Dataset, config: dict, step: int | None = None) -> dict[str, float]:
    """The metrics of this module that ``config`` and ``dataset`` allow, by name; at ``step`` 0
    (the untrained model) with the baselines, read from the step-0 cache when it holds them
    (the digit-level measures excepted)."""
    return {**_cached_metrics(game, dataset, config, step), **digit_metrics(game, dataset, config, SAMPLE_SEED, step)}


def _cached_metrics(game: ALIGame, dataset: Dataset, config: dict, step: int | None) -> dict[str, float]:
    """:func:`quality_metrics` but the digit-level measures."""
    if step == 0 and sample_quality_on(config, dataset):
        key = untrained_metrics_cache.step0_key(game, dataset, config)
        cached = untrained_metrics_cache.read_step0(config, key)
        if cached is not None:
            return cached
        metrics = {**_metrics(game, dataset, config), **step0_baselines(dataset, config)}
        untrained_metrics_cache.write_step0(config, key, metrics)
        return metrics
    metrics = _metrics(game, dataset, config)
    if step == 0:
        metrics.update(step0_baselines(dataset, config))
    return metrics


def _metrics(game: ALIGame, dataset: Dataset, config: dict) -> dict[str, float]:
    """The metrics logged at every evaluation."""
    batch_size = config["eval_batch_size"]
    metrics = {}
    if len(dataset.validation):
        metrics["recon_mse_valid"] = reconstruction_mse(game, dataset.batches("validation", batch_size))
    probe = config["probe"]
    if probe["images"] and {"train", "heldout"} <= set(dataset.labels) and len(dataset.heldout):
        metrics["probe_accuracy"] = probe_accuracy(game, dataset, probe["images"], probe["features"], probe["l2"],
                                                   batch_size)
    if config["diversity_samples"] >= 2 and dataset.pixel_mean is not None:
        metrics["sample_diversity"] = sample_diversity(game, dataset, config["diversity_samples"])
    if sample_quality_on(config, dataset):
        metrics.update(sample_quality_metrics(game, dataset, config, SAMPLE_SEED))
    return metrics


def sample_metrics(game: ALIGame, dataset: Dataset, config: dict, seed: int) -> dict[str, float]:
    """The metrics of generated samples (sample quality, digit-level measures) that ``config``
    and ``dataset`` allow, with the prior draws seeded ``seed`` instead of :data:`SAMPLE_SEED`."""
    metrics = sample_quality_metrics(game, dataset, config, seed) if sample_quality_on(config, dataset) else {}
    return {**metrics, **digit_metrics(game, dataset, config, seed, None)}


def probe_accuracy(game: ALIGame, dataset: Dataset, images: int, features: str, l2: float, batch_size: int) -> float:
    """Held-out accuracy of a linear probe fitted on the first ``images`` training images."""
    with evaluation_mode(game):
        train = torch.cat([encoder_features(game.encoder, x, features)
                           for x in dataset.batches("train", batch_size, images)]).cpu()
        test = torch.cat([encoder_features(game.encoder, x, features)
                          for x in dataset.batches("heldout", batch_size)]).cpu()
    return fit_and_score(train, dataset.labels["train"][:images].cpu(), test, dataset.labels["heldout"].cpu(), l2)


@torch.no_grad()
def sample_diversity(game: ALIGame, dataset: Dataset, count: int) -> float:
    """Diversity of ``count`` generated images against the first ``count`` training images
    (fewer of both when the training split holds fewer)."""
    device = dataset.train.device
    count = min(count, len(dataset.train))
    z = torch.randn((count, *game.latent_shape), generator=torch.Generator(device).manual_seed(SAMPLE_SEED),
                    device=device)
    with evaluation_mode(game):
        generated = game.generate(z)
    return diversity_ratio(generated, next(dataset.batches("train", count, count)))

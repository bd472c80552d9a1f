"""The evaluation metrics besides held-out MSE, logged at every evaluation of a run.

- ``recon_mse_valid``: reconstruction MSE on the validation split (carved from the training
  images, never trained on; logged when ``data.validation`` > 0). Studies select on it.
- ``probe_accuracy``: a linear probe of the encoder (:mod:`ali_opt.probe`), fitted on the
  first ``probe.images`` training images and scored on the held-out images (logged when
  ``probe.images`` > 0 and the data has labels).
- ``sample_diversity``: generated images' spread against the data's (:mod:`ali_opt.diversity`),
  over ``diversity_samples`` images of each (logged when it is >= 2).

Everything here runs in evaluation mode and draws its prior samples from its own generator
(seed :data:`SAMPLE_SEED`), so evaluating never changes a run's trajectory.
"""
from __future__ import annotations

import torch

from .ali import ALIGame
from .data import Dataset
from .diversity import diversity_ratio
from .errors import ConfigError, check_choice
from .evaluation import evaluation_mode, reconstruction_mse
from .probe import FEATURES, encoder_features, fit_and_score

SAMPLE_SEED = 0
"""Seed of the prior draws behind ``sample_diversity`` (the same z at every evaluation)."""


def check_quality_config(config: dict) -> None:
    """Raise :class:`ConfigError` for a bad ``probe`` or ``diversity_samples``."""
    probe = config["probe"]
    if not isinstance(probe, dict) or set(probe) != {"images", "features", "l2"}:
        raise ConfigError(f"probe={probe!r} is not valid; give a dict with images, features and l2")
    for key, value in (("probe.images", probe["images"]), ("diversity_samples", config["diversity_samples"])):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{key}={value!r} is not valid; it must be an integer >= 0 (0: not measured)")
    check_choice("probe.features", probe["features"], FEATURES)
    if isinstance(probe["l2"], bool) or not isinstance(probe["l2"], (int, float)) or not probe["l2"] >= 0:
        raise ConfigError(f"probe.l2={probe['l2']!r} is not valid; it must be a number >= 0")
    if config["diversity_samples"] == 1:
        raise ConfigError("diversity_samples=1 is not valid; it needs at least 2 images (0: not measured)")


def quality_metrics(game: ALIGame, dataset: Dataset, config: dict) -> dict[str, float]:
    """The metrics of this module that ``config`` and ``dataset`` allow, by name."""
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
    return metrics


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

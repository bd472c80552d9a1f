"""Held-out reconstruction error, evaluation mode, and the averaged model."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch

from optimizers import Averaged

from ..ali import ALIGame
from ..batchnorm import recomputed_statistics
from ..data import Dataset


@contextmanager
def evaluation_mode(game: ALIGame) -> Iterator[None]:
    """BatchNorm on running statistics, no dropout; the previous mode comes back on exit."""
    was_training = game.training
    game.eval()
    try:
        yield
    finally:
        game.train(was_training)


@contextmanager
def averaged_model(game: ALIGame, optimizer: Averaged, dataset: Dataset, batch_size: int, seed: int) -> Iterator[None]:
    """Inside, ``game`` is the averaged model: the averaged parameters, with BatchNorm statistics
    recomputed for them over one pass of the training set in batches of ``batch_size`` (noise
    and dropout masks from a generator seeded with ``seed``, so a run's own draws are
    untouched). The live parameters and statistics come back on exit."""
    generator = torch.Generator(dataset.train.device).manual_seed(seed)
    batches = (game.draw_batch(x, generator) for x in dataset.train_batches(batch_size))
    with optimizer.averaged_parameters(), recomputed_statistics(game, batches):
        yield


def reconstruction_mse(game: ALIGame, batches: Iterable[torch.Tensor]) -> float:
    """Mean squared error per value between x and G_x(mu(x)) over ``batches`` (in eval mode)."""
    total, count = None, 0
    with evaluation_mode(game):
        for x in batches:
            error = (game.reconstruct(x) - x).square().sum()
            total = error if total is None else total + error
            count += x.numel()
    return float(total) / count if count else float("nan")

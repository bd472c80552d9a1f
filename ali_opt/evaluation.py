"""Held-out reconstruction error and the image figures of a run."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from optimizers import Averaged

from .ali import ALIGame
from .batchnorm import recomputed_statistics
from .data import Dataset
from .plots.grids import interpolate, save_grid


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


@torch.no_grad()
def write_image_figures(game: ALIGame, heldout: torch.Tensor, folder: Path, prefix: str, seed: int = 0) -> list[Path]:
    """Sample grid (10x10), reconstructions (rows of originals above rows of reconstructions)
    and latent interpolations between held-out pairs (``heldout``: float images), as PNG
    files in ``folder``.

    Draws from its own generator seeded with ``seed``, so writing figures never changes
    the training trajectory.
    """
    folder.mkdir(parents=True, exist_ok=True)
    device = heldout.device
    generator = torch.Generator(device).manual_seed(seed)
    paths = []
    with evaluation_mode(game):
        z = torch.randn((100, *game.latent_shape), generator=generator, device=device)
        paths.append(save_grid(folder / f"{prefix}samples.png", game.generate(z), columns=10))
        if len(heldout) >= 2:
            columns = min(10, len(heldout))
            originals = heldout[: columns * min(5, len(heldout) // columns)]
            pairs_of_rows = torch.stack([originals, game.reconstruct(originals)]).unflatten(1, (-1, columns))
            paths.append(save_grid(folder / f"{prefix}reconstructions.png",
                                   pairs_of_rows.transpose(0, 1).flatten(0, 2), columns=columns))
            pairs = min(8, len(heldout) // 2)
            mu, _ = game.encode(heldout[: 2 * pairs])
            path = interpolate(mu[:pairs], mu[pairs: 2 * pairs], points=10)
            paths.append(save_grid(folder / f"{prefix}interpolations.png", game.generate(path), columns=10))
    return paths

"""The image figures of a run: samples, reconstructions and latent interpolations."""
from __future__ import annotations

from pathlib import Path

import torch

from ..ali import ALIGame
from ..metrics.reconstruction import evaluation_mode
from .grids import interpolate, save_grid


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
            codes = game.code(heldout[: 2 * pairs])
            path = interpolate(codes[:pairs], codes[pairs: 2 * pairs], points=10)
            paths.append(save_grid(folder / f"{prefix}interpolations.png", game.generate(path), columns=10))
    return paths

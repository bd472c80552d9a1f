"""Redraw the figures of one trained run from its folder (checkpoint, config and metrics).

    python -m ali_opt.plots.trained_run runs/train_ali/3
    python -m ali_opt.plots.trained_run runs/train_ali/3 --out docs/figures --prefix mnist_ --data-root ../shared/data

Writes, into ``--out`` (default: the run folder), for an image model at its last checkpoint:
``samples.png`` (a 10x10 grid), ``samples_and_real.png`` (those samples beside 100 test
images), ``reconstructions.png`` (rows of test images above their reconstructions G(E(x))),
``interpolations.png`` (decodings along the segment between two test images' codes, one pair
per row) and ``losses_vs_epochs.png`` (both players' logged losses, from the first step of the
runs a resumed run continues, when their folders are there). The images are drawn on
the CPU from a generator seeded with ``--seed``: the same run gives the same figures.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from ..errors import ConfigError
from ..metrics.reconstruction import evaluation_mode
from ..records.runs import Run, read_run, stitch_resumed
from ..runtime.checkpoint import load_checkpoint
from ..training import build_run
from .image_figures import write_image_figures
from .run_figures import losses_against_epochs, samples_beside_real

SHOWN = 100
"""Test images shown (and samples drawn) per figure."""


def write_trained_run_figures(folder: Path, out: Path, *, prefix: str = "", data_root: str | None = None,
                              seed: int = 0) -> list[Path]:
    """The figures of the run in ``folder`` (see the module's docstring), written into ``out``
    with names starting with ``prefix``; ``data_root`` replaces the run's ``data.root``."""
    checkpoint = load_checkpoint(folder, key="run")
    config = dict(checkpoint["config"], device="cpu", data=dict(checkpoint["config"]["data"]))
    if data_root is not None:
        config["data"]["root"] = data_root
    parts = build_run(config)
    if parts.dataset.pixel_mean is None:
        raise ConfigError(f"run={str(folder)!r} trained on {config['data']['name']!r}, not images; these figures "
                          "are for image models")
    parts.game.load_state_dict(checkpoint["game"])
    out.mkdir(parents=True, exist_ok=True)
    real = next(parts.dataset.heldout_batches(SHOWN), None)
    if real is None:
        raise ConfigError(f"run={str(folder)!r} holds out no test images (data.heldout=0); the figures need them")
    paths = write_image_figures(parts.game, real, out, prefix, seed=seed)
    with torch.no_grad(), evaluation_mode(parts.game):  # the samples of write_image_figures: the same seed
        z = torch.randn((SHOWN, *parts.game.latent_shape), generator=torch.Generator().manual_seed(seed))
        paths.append(samples_beside_real(parts.game.generate(z), real, out / f"{prefix}samples_and_real.png"))
    losses = out / f"{prefix}losses_vs_epochs.png"
    paths.append(losses_against_epochs(whole_run(folder), len(parts.dataset.train), losses))
    return paths


def whole_run(folder: Path) -> Run:
    """The run in ``folder`` joined with the runs it continues (its ``resume``, followed back
    while the folder is there), so that the curves of a resumed run start at its first step."""
    runs = [read_run(folder)]
    while runs[-1].config.get("resume"):
        previous = Path(runs[-1].config["resume"]).expanduser()
        previous = previous if previous.is_dir() else previous.parent  # a folder, or its checkpoint file
        if not (previous / "run.json").is_file() or previous.resolve() in {run.folder.resolve() for run in runs}:
            break
        runs.append(read_run(previous))
    stitched, _ = stitch_resumed(runs)
    return next(run for run in stitched if Path(folder).resolve() in {part.resolve() for part in run.parts})


def main(argv: Sequence[str] | None = None) -> int:
    parse = argparse.ArgumentParser(prog="python -m ali_opt.plots.trained_run", description=__doc__.split("\n\n")[0])
    parse.add_argument("run", type=Path, help="a run folder holding checkpoint.pt, config.json and metrics.json")
    parse.add_argument("--out", type=Path, help="folder for the figures (default: the run folder)")
    parse.add_argument("--prefix", default="", help="start of every file name written, e.g. mnist_")
    parse.add_argument("--data-root", help="where the run's data is now, if not at its data.root")
    parse.add_argument("--seed", type=int, default=0, help="seeds the prior draws of the samples")
    args = parse.parse_args(argv)
    try:
        written = write_trained_run_figures(args.run, args.out or args.run, prefix=args.prefix,
                                            data_root=args.data_root, seed=args.seed)
    except (ConfigError, OSError) as error:
        parse.exit(2, f"{parse.prog}: error: {error}\n")
    print("wrote:", *(f"  {path}" for path in written), sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

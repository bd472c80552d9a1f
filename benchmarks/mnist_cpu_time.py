"""The ALI reproduction's CIFAR-10 comparison redrawn on MNIST: reconstruction against CPU time.

    python -m benchmarks.mnist_cpu_time --data ../shared/data                       # ~36 min on 2 idle cores
    python -m benchmarks.mnist_cpu_time --data ../shared/data --seeds 1 --scales 1 --budget-flops 2e11  # a check
    python -m benchmarks.mnist_cpu_time --out runs/mnist_cpu_time --figure-only     # redraw from the runs

The reproduction compares simultaneous Adam with the stochastic extragradient method with
resampling (Extra-Adam, ``resample=True``) at a generator step of 5e-4 and a discriminator
step of 1e-4 on CIFAR-10, drawing reconstruction error against CPU time, and notes that it
"fails to leverage known advantages of SEM with increased learning rates". This benchmark
trains both optimizers on MNIST (the ``mnist`` named config's data, model, batch size and
Adam betas; :func:`ali_opt.config.mnist`) at those step sizes times each ``--scales`` value
(both players together), on ``--seeds`` seeds, every run stopping at the same
``--budget-flops`` (FLOPs of the optimizer's steps, so an Extra-Adam step, two gradients,
counts twice) and evaluated at ``--evals`` evenly spaced fractions of it, step 0 included.
The cells are ordinary :mod:`studies.train_ali` runs in ``--out``, trained through
:func:`ali_opt.runtime.run_cells` (``--workers`` at once, ``--threads`` torch threads each);
re-running skips finished cells and resumes interrupted ones.

It draws ``--out/figures/mnist_cpu_time.png`` (:func:`ali_opt.plots.clock_curves.metrics_vs_clock`):
the held-out reconstruction MSE, with the mean image's MSE as a grey baseline (the untrained
decoder draws the mean image), and ``recon_class_accuracy``, the fraction of test images whose
reconstruction the digit classifier assigns to the right digit, with the classifier's accuracy
on the real images as its ceiling; both against the training CPU time (all threads), mean over
seeds with a min-max band. It prints each group's values at the end of the budget.
"""
from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from sacred.config import ConfigScope

from ali_opt.config import CELL_KEYS, mnist
from ali_opt.errors import ConfigError
from ali_opt.plots.clock_curves import Panel, metrics_vs_clock
from ali_opt.records.runs import Group, load_runs
from ali_opt.records.selection import sweep_runs
from ali_opt.runtime import FAILED, Cell, run_cells
from ali_opt.sweeps.grid import scaled

ENTRIES = {"adam": {"name": "adam"}, "extra_adam": {"name": "extra_adam", "resample": True}}
"""Simultaneous Adam and Extra-Adam with resampling, by label."""

BASE_LR = {"d": 1e-4, "g": 5e-4}
"""The reproduction's CIFAR-10 step sizes, which ``--scales`` multiply."""

PANELS = (Panel("recon_mse", "held-out reconstruction MSE\n(per pixel, pixels in [0, 1])", "recon_mse_mean_image",
                "mean image", log=True),
          Panel("recon_class_accuracy", "recon_class_accuracy\n(reconstructions keeping the digit)",
                "classifier_accuracy", "the classifier on real images"))

FIGURE = "mnist_cpu_time.png"


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mnist_cpu_time", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/data", help="data.root: the folder holding mnist/")
    parser.add_argument("--out", type=Path, default=Path("runs/mnist_cpu_time"), help="the runs' folder")
    parser.add_argument("--seeds", type=int, default=2, help="seeds 0, 1, ... per optimizer and scale")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 4.0, 16.0],
                        help="multipliers of G 5e-4 / D 1e-4, both players together")
    parser.add_argument("--budget-flops", type=float, default=1.1e13,
                        help="FLOPs every run stops at (1.1e13: about 2,600 Adam steps at width 0.25, where "
                             "reconstructions begin to keep the digit)")
    parser.add_argument("--evals", type=int, default=6, help="evaluations after step 0, evenly spaced in the budget")
    parser.add_argument("--width", type=float, default=0.25, help="mnist28's width")
    parser.add_argument("--workers", type=int, default=2, help="runs at once")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--figure-only", action="store_true", help="draw from the runs in --out, train nothing")
    parser.add_argument("--pdf", action="store_true", help="also write the figure as PDF")
    args = parser.parse_args(argv)
    for name in ("seeds", "evals", "workers", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} {getattr(args, name)} is not valid; give a positive integer")
    for name, value in (("budget-flops", args.budget_flops), ("width", args.width),
                        *(("scales", scale) for scale in args.scales)):
        if not (math.isfinite(value) and value > 0):
            parser.error(f"--{name} {value:g} is not valid; give a number > 0")
    if len(set(args.scales)) < len(args.scales):
        parser.error(f"--scales {' '.join(f'{scale:g}' for scale in args.scales)} is not valid; list each scale once")
    return args


def cells(args: argparse.Namespace) -> list[Cell]:
    """The runs: each entry of :data:`ENTRIES` at each scale on each seed, as training configs."""
    reproduction = ConfigScope(mnist)()
    points = [round(index / args.evals, 6) for index in range(args.evals + 1)]
    made = []
    for label, entry in ENTRIES.items():
        for scale in args.scales:
            for seed in range(args.seeds):
                config = {
                    "model": reproduction["model"], "batch_size": reproduction["batch_size"], "width": args.width,
                    "data": {**reproduction["data"], "root": str(args.data), "validation": 0},
                    "optimizer": {"betas": reproduction["optimizer"]["betas"], **entry, "lr": scaled(BASE_LR, scale)},
                    "budget_flops": args.budget_flops, "steps": math.ceil(args.budget_flops), "eval_points": points,
                    "digits": {"samples": 200, "images": 1000}, "probe": {"images": 0}, "diversity_samples": 0,
                    "sample_quality": {"samples": 0}, "log_every": 10, "checkpoint_every": 500, "seed": seed,
                    "progress": False, "output": str(args.out),
                    "sweep": {"entry": label, "lr_scale": scale, "stage": ""},
                }
                made.append(Cell(f"{label}/lr{scale:g}/seed{seed}", config))
    return made


def groups(out: Path) -> tuple[list[Group], dict[str, dict]]:
    """The runs in ``out``, one group per optimizer and scale, and each group's line style: one
    colour per scale, solid for Adam and dashed for Extra-Adam."""
    runs, _ = load_runs([out])
    by_entry = sweep_runs(runs)
    scales = sorted({scale for by_scale in by_entry.values() for scale in by_scale})
    palette = colormaps["tab10"].colors
    drawn, styles = [], {}
    for entry, by_scale in by_entry.items():
        for scale, seeds in by_scale.items():
            lr = scaled(BASE_LR, scale)
            label = f"{entry} x{scale:g} (G {lr['g']:.1e}, D {lr['d']:.1e})"
            drawn.append(Group(label, seeds))
            styles[label] = {"color": palette[scales.index(scale) % len(palette)],
                             "linestyle": "-" if entry == "adam" else "--"}
    return drawn, styles


def final_table(drawn: Sequence[Group]) -> str:
    """Each group's mean over seeds, at its last evaluation, of the drawn metrics and CPU time."""
    names = [panel.metric for panel in PANELS] + ["cpu_time"]
    lines = ["group | " + " | ".join(names)]
    for group in drawn:
        means = [np.nanmean([run.last_value(name) for run in group.runs]) for name in names]
        lines.append(f"{group.label} | " + " | ".join(f"{value:.4g}" for value in means))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if not args.figure_only:
        outcomes = run_cells(cells(args), {"executor": "local", "workers": args.workers, "threads": args.threads},
                             entry_point="studies.train_ali", keys=CELL_KEYS)
        for outcome in outcomes:
            if outcome.status == FAILED:
                print(f"cell {outcome.key} failed: {outcome.error}", file=sys.stderr)
    try:
        drawn, styles = groups(args.out)
    except ConfigError as error:
        sys.exit(f"no runs to draw in {args.out}: {error}")
    title = "MNIST: reconstruction against CPU time, simultaneous Adam and Extra-Adam (resampled), equal FLOPs"
    (args.out / "figures").mkdir(parents=True, exist_ok=True)
    written = metrics_vs_clock(drawn, PANELS, args.out / "figures" / FIGURE, title=title, styles=styles, pdf=args.pdf)
    print(final_table(drawn))
    print("\n".join(str(path) for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())

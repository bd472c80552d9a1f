"""N seeds of ALI on a 2-D mixture: one vmapped ensemble against N sequential runs of the same steps.

    python -m benchmarks.ensemble_speed [--members 64] [--steps 20] [--threads 1] [--batch 256] [--json PATH]

Both sides train the mixture study's game (model ``mlp``, ring of 8 Gaussians, batch 256 unless
``--batch`` says otherwise, simultaneous Adam at 1e-3, beta1 0.5): member i is the run
:func:`ali_opt.training.train` trains with seed i. The ensemble side steps an
:class:`~ali_opt.ensemble_training.EnsembleTraining` (its per-step parameter copy and finiteness
checks included); the sequential side trains the N games one after another, each with its own
optimizer and batch generator, as N runs would. Each side takes ``--warmup`` untimed steps first
(each sequential run its own), then ``--steps`` timed ones, and runs in a fresh process so that
its memory figure is its own: the peak resident set (``ru_maxrss``) above the resident set before
its games were built. Both wall-clock and CPU time (``time.process_time``) are reported: on a
machine shared with other work, the CPU time of a one-thread process is the fairer measure. One
measurement, one run.
"""
from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch

from ali_opt.ali import ALIGame
from ali_opt.data import load_dataset
from ali_opt.models import build_models
from optimizers import DEFAULTS, build_optimizer
from benchmarks.bench_step import in_fresh_process, resident_mib
from ali_opt.sweeps.mixture_ensembles import build_ensemble, draw_member_batch

TRAINING = {"model": "mlp", "width": 1.0, "loss": "non_saturating", "batch_size": 256, "seed": 0,
            "optimizer": dict(DEFAULTS, name="adam", lr=1e-3, betas=(0.5, 0.999))}
"""The mixture study's defaults for one run."""


def peak_mib() -> float:
    """Peak resident set of this process so far, MiB (``ru_maxrss``, in KiB on Linux, can lag the
    current resident set by a page or so: the peak is at least the current value)."""
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, resident_mib())


def timed_steps(step: Callable[[], object], warmup: int, steps: int) -> tuple[float, float]:
    """``warmup`` untimed calls of ``step``, then the wall and CPU seconds of ``steps`` more."""
    for _ in range(warmup):
        step()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    return time.perf_counter() - start, time.process_time() - cpu_start


def run_side(side: str, members: int, warmup: int, steps: int, threads: int, batch: int = 256) -> dict:
    """Train one side in this process; its timed seconds and memory."""
    torch.set_num_threads(threads)
    training = {**TRAINING, "batch_size": batch}
    dataset = load_dataset("ring", root=None, heldout=0, seed=TRAINING["seed"])
    before = resident_mib()
    if side == "ensemble":
        seconds, cpu_seconds = timed_steps(build_ensemble(training, dataset, members).step, warmup, steps)
    else:
        seconds = cpu_seconds = 0.0
        for index in range(members):
            torch.manual_seed(TRAINING["seed"] + index)
            models = build_models(TRAINING["model"], width=TRAINING["width"])
            game = ALIGame(models.encoder, models.decoder, models.discriminator, models.latent_shape)
            optimizer = build_optimizer(game, TRAINING["optimizer"])
            generator = torch.Generator().manual_seed(TRAINING["seed"] + index)
            sample = partial(draw_member_batch, game, dataset, batch, generator)
            member_seconds, member_cpu_seconds = timed_steps(partial(optimizer.step, sample), warmup, steps)
            seconds += member_seconds
            cpu_seconds += member_cpu_seconds
    return {"side": side, "seconds": seconds, "cpu_seconds": cpu_seconds,
            "seconds_per_step_of_all_members": seconds / steps,
            "memory_before_mib": before, "peak_mib": peak_mib(), "peak_above_before_mib": peak_mib() - before}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="timed steps of every member")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps of every member first")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on both sides")
    parser.add_argument("--batch", type=int, default=TRAINING["batch_size"], help="batch size of every member")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--overwrite", action="store_true", help="let --json replace an existing file")
    args = parser.parse_args(argv)
    for name in ("members", "steps", "threads", "batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name}={getattr(args, name)} is not valid; it must be at least 1")
    if args.json and args.json.exists() and not args.overwrite:
        parser.error(f"--json {args.json} exists; give another path, or --overwrite to replace it")
    results = {side: in_fresh_process(run_side, side, args.members, args.warmup, args.steps, args.threads, args.batch)
               for side in ("ensemble", "sequential")}
    ensemble, sequential = results["ensemble"], results["sequential"]
    speedup = sequential["seconds"] / ensemble["seconds"]
    cpu_speedup = sequential["cpu_seconds"] / ensemble["cpu_seconds"]
    print(f"{args.members} members x {args.steps} steps of batch {args.batch}, {args.threads} torch thread(s), "
          f"torch {torch.__version__}")
    print("| | wall seconds | CPU seconds | wall s per step of all members | peak resident MiB "
          "| peak above start MiB |")
    print("|---|---|---|---|---|---|")
    for side, found in results.items():
        print(f"| {side} | {found['seconds']:.2f} | {found['cpu_seconds']:.2f} | "
              f"{found['seconds_per_step_of_all_members']:.3f} | {found['peak_mib']:.0f} | "
              f"{found['peak_above_before_mib']:.0f} |")
    print(f"speed-up of the ensemble: {speedup:.1f}x in wall-clock time, {cpu_speedup:.1f}x in CPU time")
    if args.json:
        args.json.write_text(json.dumps({"members": args.members, "steps": args.steps, "threads": args.threads,
                                         "batch": args.batch,
                                         "torch": torch.__version__, "speedup": speedup, "cpu_speedup": cpu_speedup,
                                         "results": results},
                                        indent=2))


if __name__ == "__main__":
    main()

"""Sweep throughput: cells per hour for two layouts of the same cells on the same cores.

    python -m benchmarks.sweep_throughput                                  # 2 workers x 1 thread vs 1 x 2
    python -m benchmarks.sweep_throughput --cells 6 --steps 200 --repeats 2 --json sweep.json

Every layout trains the same cells (quarter-width ``cifar32``, batch 64, ``--steps`` steps
of ``adam`` and ``extra_adam`` in turn, seeds 0, 1, ...; one held-out evaluation and one
checkpoint at the end) through :func:`ali_opt.runtime.run_cells`, each into a fresh
output folder, so that the time includes everything a sweep pays per cell: starting the
process, reading the data, building the models, training, evaluating, writing the run.
Reported per layout: wall time of the whole sweep, cells per hour, and the median
training wall time per cell as the runs recorded it (the rest is the per-cell overhead).
With ``--repeats`` above 1 the layouts alternate (A B B A ...) and the medians are reported.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from ali_opt.config import CELL_KEYS
from ali_opt.runtime import Cell, run_cells

LAYOUTS = {"2 workers x 1 thread": {"workers": 2, "threads": 1},
           "1 worker x 2 threads": {"workers": 1, "threads": 2}}
OPTIMIZERS = ("adam", "extra_adam")


def default_data_root() -> str:
    return "../shared/data" if Path("../shared/data").is_dir() else "data"


def sweep_cells(output: Path, count: int, steps: int, data_root: str) -> list[Cell]:
    """``count`` quarter-width CIFAR-10 cells of ``steps`` steps each, alternating optimizers."""
    cells = []
    for index in range(count):
        name = OPTIMIZERS[index % len(OPTIMIZERS)]
        config = {"model": "cifar32", "width": 0.25, "batch_size": 64, "steps": steps, "log_every": 10,
                  "eval_every": steps, "eval_batch_size": 250, "checkpoint_every": steps, "device": "cpu",
                  "seed": index // len(OPTIMIZERS), "optimizer": {"name": name}, "output": str(output),
                  "data": {"name": "cifar10", "root": data_root, "heldout": 500}}
        cells.append(Cell(f"{name}/seed{config['seed']}", config))
    return cells


def measure(layout: dict, count: int, steps: int, data_root: str) -> dict:
    """Run the cells once with ``layout``, in a fresh folder; the sweep's wall time and per-cell times."""
    with tempfile.TemporaryDirectory(prefix="sweep-throughput-") as folder:
        cells = sweep_cells(Path(folder) / "runs", count, steps, data_root)
        start = time.perf_counter()
        outcomes = run_cells(cells, {"executor": "local", **layout}, entry_point="studies.train_ali", keys=CELL_KEYS)
        wall = time.perf_counter() - start
    failed = [outcome for outcome in outcomes if outcome.result is None]
    if failed:
        raise SystemExit(f"cell {failed[0].key} failed: {failed[0].error}")
    return {"wall_s": wall, "cells_per_hour": count * 3600 / wall,
            "median_training_s": statistics.median(outcome.result["wall_time"] for outcome in outcomes)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep_throughput", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=4, help="cells per sweep (default 4)")
    parser.add_argument("--steps", type=int, default=100, help="training steps per cell (default 100)")
    parser.add_argument("--repeats", type=int, default=1, help="sweeps per layout, alternating (default 1)")
    parser.add_argument("--data-root", default=default_data_root(),
                        help="folder holding cifar-10-batches-py (default ../shared/data if present, else data)")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--overwrite", action="store_true", help="let --json replace an existing file")
    args = parser.parse_args(argv)
    for name in ("cells", "steps", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} {getattr(args, name)} is not valid; give a positive integer")
    if args.json and args.json.exists() and not args.overwrite:
        parser.error(f"--json {args.json} exists; give another path, or --overwrite to replace it")
    if not (Path(args.data_root) / "cifar-10-batches-py").is_dir():
        parser.error(f"--data-root {args.data_root}: no cifar-10-batches-py folder there; give the folder holding it")

    order = [name for round_ in range(args.repeats) for name in (list(LAYOUTS) if round_ % 2 == 0
                                                                  else list(reversed(LAYOUTS)))]
    measured = {name: [] for name in LAYOUTS}
    for name in order:
        print(f"{name}: {args.cells} cells of {args.steps} steps", file=sys.stderr)
        measured[name].append(measure(LAYOUTS[name], args.cells, args.steps, args.data_root))
    rows = {name: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
            for name, runs in measured.items()}
    print(f"\n{args.cells} cells of {args.steps} steps (quarter-width cifar32, batch 64), {os.cpu_count()} cores, "
          f"torch {torch.__version__}, median of {args.repeats} sweep(s) per layout\n")
    print("| layout | sweep wall s | cells/hour | median training s per cell |")
    print("|---|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {row['wall_s']:.1f} | {row['cells_per_hour']:.0f} | {row['median_training_s']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps({"cells": args.cells, "steps": args.steps, "cores": os.cpu_count(),
                                         "torch": torch.__version__, "layouts": measured}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

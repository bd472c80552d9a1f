"""Redraw every figure and the summary table of a comparison from its recorded runs.

    python -m ali_opt.plots runs/compare                      # a folder of run folders
    python -m ali_opt.plots runs/compare/3 runs/compare/4 --by optimizer.lr.g --by width
    python -m ali_opt.plots runs/a runs/b --out figures --pdf --target-mse 0.03 --smooth 0.9

Runs with the same label (optimizer name, plus the config values that tell runs of one
optimizer apart, or the ``--by`` keys) are seeds of one group. Written into ``--out``
(default: the common parent folder of the runs read): ``recon_vs_time``, ``stability``,
``grad_norms`` and, when runs logged eigenvalues (``spectrum_every``), ``spectrum`` as PNG
(and PDF with ``--pdf``), ``summary.md`` and ``summary.csv``.
Runs of a step-size sweep (the main study) also get ``stability_vs_step_size``,
``failures_vs_step_size`` and ``selected_curves``, and the sweep's summary table
(:mod:`ali_opt.plots.step_size_figures`, :mod:`ali_opt.records.step_size_summary`).
Studies call :func:`ali_opt.plots.all_figures.draw_all` after running a comparison.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ali_opt.errors import ConfigError
from ali_opt.plots.all_figures import draw_all
from ali_opt.records.runs import Group, Run, Skipped, group_runs, load_runs


class OneLineParser(argparse.ArgumentParser):
    """Reports bad input as one line on stderr (no usage block) and exits with status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def parser() -> OneLineParser:
    parse = OneLineParser(prog="python -m ali_opt.plots", description=__doc__.split("\n\n")[0])
    parse.add_argument("runs", nargs="+", type=Path, metavar="RUNS",
                       help="run folders (holding run.json) or folders of them")
    parse.add_argument("--by", action="append", default=[], metavar="KEY",
                       help="group by this dotted config key (optimizer.lr.g, width, ...); repeatable")
    parse.add_argument("--out", type=Path, help="folder for the figures and tables (default: the runs' common parent)")
    parse.add_argument("--pdf", action="store_true", help="also write each figure as PDF")
    parse.add_argument("--target-mse", type=float, metavar="X",
                       help="held-out MSE for the time-to-target column (default: the worst group's best MSE)")
    parse.add_argument("--smooth", type=float, metavar="BETA",
                       help="EMA factor in [0, 1) for loss and gradient-norm curves (default: raw values)")
    return parse


def main(argv: Sequence[str] | None = None) -> int:
    parse = parser()
    args = parse.parse_args(argv)
    if args.smooth is not None and not 0 <= args.smooth < 1:
        parse.error(f"--smooth {args.smooth:g} is not valid; give an EMA factor in [0, 1), such as 0.9")
    if args.target_mse is not None and not args.target_mse > 0:
        parse.error(f"--target-mse {args.target_mse:g} is not valid; give a positive MSE, such as 0.03")
    try:
        runs, skipped = load_runs(args.runs)
        groups = group_runs(runs, args.by)
    except ConfigError as error:
        parse.error(str(error))
    report_read(groups, skipped)
    written = draw_all(groups, args.out or default_out(runs), args.pdf, args.target_mse, args.smooth)
    print("wrote:", *(f"  {path}" for path in written), sep="\n")
    return 0


def default_out(runs: Sequence[Run]) -> Path:
    """The deepest folder holding every run folder read; ``./figures`` when they share none."""
    common = Path(os.path.commonpath([part.absolute().parent for run in runs for part in run.parts]))
    return Path("figures") if common == Path(common.anchor) else common


def report_read(groups: Sequence[Group], skipped: Sequence[Skipped]) -> None:
    """Print the runs read, group by group, and the folders skipped with their reasons."""
    print(f"read {sum(len(group.runs) for group in groups)} runs in {len(groups)} groups:")
    for group in groups:
        print(f"  {group.label}")
        for run in group.runs:
            print(f"    {describe(run)}")
    if skipped:
        print("skipped:", *(f"  {folder}: {reason}" for folder, reason in skipped), sep="\n")


def describe(run: Run) -> str:
    """One line: the run's folders, seed, status, last step, and what its curves lack."""
    notes = [f"seed {run.seed}", run.status, f"last step {run.last_step()}" if run.metrics else "nothing logged yet"]
    if run.diverged_at is not None:
        notes.append(f"diverged at step {run.diverged_at}")
    if len(run.parts) == 1 and run.config.get("resume"):
        notes.append(f"continues {run.config['resume']}, which was not read: its curves start late")
    return " + ".join(map(str, run.parts)) + "  (" + ", ".join(notes) + ")"


if __name__ == "__main__":
    sys.exit(main())

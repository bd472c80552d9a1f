"""One attempt at a cell: its config written to a JSON file, one process running it, its log.

The process is ``python -m <experiment> with <config>.json`` (Sacred reads a JSON file
given after ``with`` as config updates), started in the sweep's working folder so that
relative paths in the config mean the same as in the parent, with the parent's copy of the
project first on ``PYTHONPATH`` so that it runs the same code. The same
:func:`run_attempt` runs in a local worker thread and inside a SLURM job.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ENTRY_POINT = "studies.train_ali"
"""The Sacred experiment (a module run with ``python -m``) that trains one cell."""

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The folder holding this copy of ``ali_opt`` (and ``studies``)."""


@dataclass(frozen=True)
class Attempt:
    """Everything a process needs to train one cell once: picklable, for submitit."""

    key: str
    config_file: Path
    log_file: Path
    threads: int
    workdir: Path
    entry_point: str = ENTRY_POINT

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.entry_point, "with", str(self.config_file)]


def prepare_attempt(key: str, config: dict, folder: Path, threads: int, entry_point: str = ENTRY_POINT) -> Attempt:
    """Write ``config`` as the next numbered attempt of cell ``key`` under ``folder`` (never over
    an earlier file) and return the :class:`Attempt` that runs it."""
    cell_folder = Path(folder) / safe_name(key)
    cell_folder.mkdir(parents=True, exist_ok=True)
    number = 1
    while True:
        config_file = cell_folder / f"attempt{number}.json"
        try:
            with open(config_file, "x") as file:
                json.dump(config, file, indent=2)
            break
        except FileExistsError:
            number += 1
    return Attempt(key, config_file.absolute(), config_file.with_suffix(".log").absolute(), threads,
                   Path.cwd(), entry_point)


def run_attempt(attempt: Attempt, gpu: str | None = None,
                started: Callable[[subprocess.Popen], None] = lambda process: None) -> int:
    """Run ``attempt`` to its end, its output into its log file; its exit status (negative: the
    signal that killed it). ``gpu``: the one GPU it sees (CUDA_VISIBLE_DEVICES); ``started``
    is handed the process once it runs."""
    env = dict(os.environ)
    env.update({name: str(attempt.threads) for name in THREAD_VARIABLES})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH", "")]))
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpu
    with open(attempt.log_file, "ab") as log:
        process = subprocess.Popen(attempt.command(), stdout=log, stderr=subprocess.STDOUT, env=env,
                                   cwd=attempt.workdir, stdin=subprocess.DEVNULL)
        started(process)
        returncode = process.wait()
    exit_record(attempt.config_file).write_text(json.dumps({"returncode": returncode}))
    return returncode


def exit_record(config_file: Path) -> Path:
    """The file that says an attempt's process has ended (and how): a run it left RUNNING is dead."""
    return Path(config_file).with_suffix(".exit.json")


def describe_exit(returncode: int, log_file: Path | None, lines: int = 3) -> str:
    """Why a process failed, in a line or a few: its exit status or signal and the end of its log."""
    if returncode < 0:
        try:
            why = f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            why = f"killed by signal {-returncode}"
    else:
        why = f"exited with status {returncode}"
    tail = _tail(log_file, lines) if log_file else ""
    return why + (f"; end of {log_file}:\n{tail}" if tail else "")


def safe_name(key: str) -> str:
    """A file name for ``key``: its letters, digits, ``.-_`` (others as ``_``), and a checksum of
    the key so that two keys never share a name."""
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', key)[:80]}-{zlib.crc32(key.encode()):08x}"


def _tail(path: Path, lines: int) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])

"""One attempt at a cell: its config written to a JSON file, one process running it, its log.

The process is ``python -m <entry point> with <config>.json`` (Sacred reads a JSON file
given after ``with`` as config updates), started in the sweep's working folder so that
relative paths in the config mean the same as in the parent, with the folder the parent
imports the entry point from (:func:`import_root`) first on ``PYTHONPATH`` so that it runs
the same code, installed or not. The same :func:`run_attempt` runs in a local worker thread
and inside a SLURM job.
"""
from __future__ import annotations

import importlib.util
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

from ...errors import ConfigError
from ..atomic import write_atomically

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Attempt:
    """Everything a process needs to train one cell once: picklable, for submitit."""

    key: str
    config_file: Path
    log_file: Path
    threads: int
    workdir: Path
    entry_point: str
    """The Sacred experiment that trains the cell: a module, run with ``python -m``."""
    import_root: Path
    """The folder that goes first on the process's ``PYTHONPATH`` (see :func:`import_root`)."""

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.entry_point, "with", str(self.config_file)]


def import_root(entry_point: str) -> Path:
    """The folder this process imports the module ``entry_point`` from: the parent of its top-level
    package (of the module itself when it has no package). A cell process with it first on
    ``PYTHONPATH`` runs this copy of the code, from a checkout that is not installed as well.

    Raises :class:`ConfigError` when ``entry_point`` cannot be imported here."""
    try:
        spec = importlib.util.find_spec(entry_point)
    except (ImportError, ValueError) as error:
        spec, why = None, f"{type(error).__name__}: {error}"
    else:
        why = "no such module"
    if spec is None:
        raise ConfigError(f"entry_point={entry_point!r} is not valid: it cannot be imported here ({why}); "
                          "give the module of a Sacred experiment, such as 'package.experiment'")
    top = importlib.util.find_spec(entry_point.split(".")[0])
    if top.submodule_search_locations:  # a package (a namespace package has no origin)
        return Path(next(iter(top.submodule_search_locations))).resolve().parent
    return Path(top.origin).resolve().parent


def prepare_attempt(key: str, config: dict, folder: Path, threads: int, entry_point: str,
                    root: Path | None = None) -> Attempt:
    """Write ``config`` as the next numbered attempt of cell ``key`` under ``folder`` (never over
    an earlier file) and return the :class:`Attempt` that runs it: ``entry_point`` imported
    from ``root`` (default: :func:`import_root` of ``entry_point``)."""
    root = import_root(entry_point) if root is None else Path(root)
    cell_folder = Path(folder) / safe_name(key)
    cell_folder.mkdir(parents=True, exist_ok=True)
    number = 1
    while True:
        config_file = cell_folder / f"attempt{number}.json"
        try:  # whole or absent, for the readers of a running sweep
            write_atomically(config_file, lambda file: json.dump(config, file, indent=2), mode=0o644, exclusive=True)
            break
        except FileExistsError:
            number += 1
    return Attempt(key, config_file.absolute(), config_file.with_suffix(".log").absolute(), threads,
                   Path.cwd(), entry_point, root)


def run_attempt(attempt: Attempt, gpu: str | None = None,
                started: Callable[[subprocess.Popen], None] = lambda process: None) -> int:
    """Run ``attempt`` to its end, its output into its log file; its exit status (negative: the
    signal that killed it). ``gpu``: the one GPU it sees (CUDA_VISIBLE_DEVICES); ``started``
    is handed the process once it runs."""
    env = dict(os.environ)
    env.update({name: str(attempt.threads) for name in THREAD_VARIABLES})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(attempt.import_root), env.get("PYTHONPATH", "")]))
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpu
    with open(attempt.log_file, "ab") as log:
        process = subprocess.Popen(attempt.command(), stdout=log, stderr=subprocess.STDOUT, env=env,
                                   cwd=attempt.workdir, stdin=subprocess.DEVNULL)
        started(process)
        returncode = process.wait()
    write_atomically(exit_record(attempt.config_file), lambda file: json.dump({"returncode": returncode}, file),
                     mode=0o644)
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

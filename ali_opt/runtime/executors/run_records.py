"""A cell's earlier runs, read from the run folders in its output folder, and what to do next.

Every run a sweep starts carries the cell's key in its config (the key
:attr:`~.cells.CellKeys.cell` names). A run folder's
``run.json`` says its status: COMPLETED, FAILED, INTERRUPTED, or RUNNING. A process killed
outright (SIGKILL, a lost node) leaves RUNNING behind for ever; such a run is told from a
live one by the exit record its attempt's process left when it ended (see
:func:`~.cell_process.exit_record`), or else by its heartbeat (Sacred writes one every
10 s). Its checkpoint is the truth about how far it got.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ...dotted import flatten
from ..checkpoint import FILENAME
from ...errors import ConfigError
from .cell_process import exit_record
from .cells import Cell, CellKeys


@dataclass(frozen=True)
class RunRecord:
    """One run folder of a cell: its status, result, start and last sign of life."""

    folder: Path
    config: dict
    status: str
    result: dict | None
    started: datetime | None
    last_beat: datetime | None
    attempt_files: tuple[Path, ...] = ()

    @property
    def checkpoint(self) -> Path | None:
        path = self.folder / FILENAME
        return path if path.is_file() else None

    def alive(self, now: datetime, stale_after_s: float) -> bool:
        """Whether the run's process may still be running: it says RUNNING, no exit record of
        its attempt says its process ended, and its heartbeat is under ``stale_after_s`` old."""
        if self.status not in ("RUNNING", "QUEUED"):
            return False
        if any(exit_record(path).is_file() for path in self.attempt_files):
            return False
        seen = self.last_beat or self.started
        return seen is not None and (now - seen).total_seconds() < stale_after_s


@dataclass(frozen=True)
class Plan:
    """What the sweep does with a cell: ``action`` is ``skip`` (``done`` completed it), ``busy``
    (a live run holds it), ``resume`` (from ``resume_from``) or ``start``."""

    action: str
    runs: tuple[RunRecord, ...]
    done: RunRecord | None = None
    resume_from: RunRecord | None = None
    busy: RunRecord | None = None


def cell_runs(cell: Cell, keys: CellKeys) -> list[RunRecord]:
    """The runs of ``cell`` in its output folder, oldest first (by start time, then folder number)."""
    output = Path(cell.config[keys.output])
    if not output.is_dir():
        return []
    records = []
    for folder in output.iterdir():
        record = read_record(folder)
        if record is not None and record.config.get(keys.cell) == cell.key:
            records.append(record)
    return sorted(records, key=lambda record: (record.started or datetime.min, _number(record.folder)))


def read_record(folder: Path) -> RunRecord | None:
    """The run in ``folder``; None for a folder that holds no readable run (yet)."""
    try:
        run = json.loads((folder / "run.json").read_text())
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(run, dict) or not isinstance(config, dict):
        return None
    result = run.get("result") if isinstance(run.get("result"), dict) else None
    named_configs = (run.get("meta") or {}).get("named_configs") or []
    attempt_files = tuple(Path(name) for name in named_configs if str(name).endswith(".json"))
    return RunRecord(folder, config, str(run.get("status", "?")), result, _time(run.get("start_time")),
                     _time(run.get("heartbeat")), attempt_files)


def plan(cell: Cell, runs: list[RunRecord], stale_after_s: float, now: datetime | None = None) -> Plan:
    """Skip a cell with a COMPLETED run, leave one with a live run alone, resume one with a
    checkpoint (the newest: every continuation starts from the newest), start the rest."""
    now = now or datetime.utcnow()
    runs = tuple(runs)
    completed = [run for run in runs if run.status == "COMPLETED"]
    if completed:
        return Plan("skip", runs, done=completed[-1])
    live = [run for run in runs if run.alive(now, stale_after_s)]
    if live:
        return Plan("busy", runs, busy=live[-1])
    checkpointed = [run for run in runs if run.checkpoint is not None]
    if checkpointed:
        return Plan("resume", runs, resume_from=max(checkpointed, key=lambda run: run.checkpoint.stat().st_mtime))
    return Plan("start", runs)


def check_same_settings(cell: Cell, runs: list[RunRecord], keys: CellKeys) -> None:
    """Raise :class:`ConfigError` when an earlier run of ``cell`` was trained with other settings
    (the keys the executor sets per run, ``keys.managed``, aside): re-running under the same
    key would mix two experiments."""
    wanted = flatten(json.loads(json.dumps(cell.config)), keep_whole=())
    for run in runs:
        recorded = flatten(run.config, keep_whole=())
        for key, value in wanted.items():
            if key.split(".")[0] in keys.managed:
                continue
            if key in recorded and recorded[key] != value:
                raise ConfigError(f"cell {cell.key!r}: its run in {run.folder} has {key}={recorded[key]!r}, but the "
                                  f"cell now has {key}={value!r}; give the cell a new key or another output folder")


def _time(text) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def _number(folder: Path) -> int:
    return int(folder.name) if folder.name.isdigit() else -1

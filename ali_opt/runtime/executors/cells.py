"""What a sweep runs (:class:`Cell`, with the :class:`CellKeys` of its entry point) and what
became of each cell (:class:`CellOutcome`)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DONE = "done"
"""Trained from scratch to completion in this call."""
SKIPPED = "skipped"
"""Already finished by an earlier call (a COMPLETED run of the cell exists): nothing was run."""
RESUMED = "resumed"
"""Continued to completion from the checkpoint of an earlier, interrupted run of the cell."""
FAILED = "failed"
"""Did not finish: the process crashed or was killed, or the cell could not start; see ``error``."""

STATUSES = (DONE, SKIPPED, RESUMED, FAILED)


@dataclass(frozen=True)
class CellKeys:
    """The config keys of the entry point (the Sacred experiment that trains one cell) that the
    executor reads and sets; the caller names them, the executor knows no experiment's keys.

    ``output``: the folder of a cell's runs (read: a re-run looks for the cell's runs there).
    ``cell``: set to the cell's key in every run, which is how a re-run finds the cell's runs.
    ``threads``: set to each run's torch CPU threads. ``resume``: set to the run folder an
    interrupted cell continues from. ``fixed``: keys set to the same value in every run (such as
    ``{"progress": False}``: no progress bars in the logs).
    """

    output: str
    cell: str
    threads: str
    resume: str
    fixed: Mapping[str, object] = field(default_factory=dict)

    @property
    def managed(self) -> tuple[str, ...]:
        """The keys the executor sets per run: they may differ between the runs of one cell."""
        return (self.cell, self.threads, self.resume, *self.fixed)


@dataclass(frozen=True)
class Cell:
    """One training run of a sweep.

    ``key`` names the cell, stably and uniquely within a sweep (``extra_adam/lr2/seed1``):
    re-running a sweep finds a cell's earlier runs by it. ``config`` is the full config of
    one run of the entry point (keys it leaves out take the experiment's defaults); its
    output folder (:attr:`CellKeys.output`) holds the cell's runs. The executor sets the
    :attr:`CellKeys.managed` keys in the config it runs; a ``resume`` given here is replaced
    when the cell continues its own interrupted run.
    """

    key: str
    config: dict


@dataclass
class CellOutcome:
    """What became of one :class:`Cell`.

    ``status`` is one of :data:`DONE`, :data:`SKIPPED`, :data:`RESUMED`, :data:`FAILED`.
    ``folders`` are the cell's run folders, oldest first (an interrupted run, then the run
    that resumed it); ``result`` is the training result of the run that completed the
    cell (``steps``, ``diverged_at``, ``best_recon_mse``, ``grad_evals``, ``wall_time``,
    ``cpu_time``), None unless it completed. ``error`` says why a cell failed (the exit
    status and the end of its log) and ``log`` is the file holding its process's output.
    """

    key: str
    status: str
    folders: tuple[Path, ...] = ()
    result: dict | None = None
    error: str = ""
    log: Path | None = None

    @property
    def folder(self) -> Path | None:
        """The newest run folder of the cell (the one that completed it, when one did)."""
        return self.folders[-1] if self.folders else None

    @property
    def finished(self) -> bool:
        return self.status != FAILED

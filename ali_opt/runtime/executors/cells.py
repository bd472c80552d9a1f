"""What a sweep runs (:class:`Cell`) and what became of each cell (:class:`CellOutcome`)."""
from __future__ import annotations

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

CELL_KEY = "cell"
"""The training config key that tags every run with the key of the cell it belongs to."""


@dataclass(frozen=True)
class Cell:
    """One training run of a sweep.

    ``key`` names the cell, stably and uniquely within a sweep (``extra_adam/lr2/seed1``):
    re-running a sweep finds a cell's earlier runs by it. ``config`` is the full config of
    one ``studies.train_ali`` run (keys it leaves out take the experiment's defaults); its
    ``output`` folder holds the cell's runs. The executor sets ``cell`` (to ``key``),
    ``threads`` and ``resume`` in the config it runs; a ``resume`` given here is replaced
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

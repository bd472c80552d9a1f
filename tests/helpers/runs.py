"""Training runs from tests: one run of studies.train_ali, in this process or as a command, and a serial
stand-in for run_cells."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from ali_opt.config import CELL_KEYS
from ali_opt.runtime import DONE, CellOutcome
from studies import train_ali
from studies.train_ali import ex

from .configs import tiny_config

ROOT = Path(__file__).resolve().parents[2]
"""The project's root, where ``python -m studies.train_ali`` runs."""

TRAINING_CELLS = {"entry_point": "studies.train_ali", "keys": CELL_KEYS}
"""What run_cells needs to train cells of studies.train_ali: ``run_cells(cells, executor, **TRAINING_CELLS)``."""


def run(images: Path, output: Path, **updates):
    return ex.run(config_updates=tiny_config(images, output, **updates), options={"--loglevel": "ERROR"})


def train_ali_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``python -m studies.train_ali *args`` in a fresh process (two minutes at most), its output captured."""
    return subprocess.run([sys.executable, "-m", "studies.train_ali", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def final_parameters(run_folder: Path) -> dict:
    return torch.load(run_folder / "checkpoint.pt", weights_only=True)["game"]


def serial_run_cells(cells, executor, *, entry_point, keys):
    """A stand-in for ali_opt.runtime.run_cells: each cell trained in this process, one after another."""
    assert (entry_point, keys) == (TRAINING_CELLS["entry_point"], TRAINING_CELLS["keys"])
    outcomes = []
    for cell in cells:
        finished = train_ali.ex.run(config_updates=cell.config, options={"--loglevel": "ERROR"})
        outcomes.append(CellOutcome(cell.key, DONE, (Path(cell.config["output"]) / str(finished._id),),
                                    finished.result))
    return outcomes

"""A cell's process runs the code of the checkout that started the sweep, installed or not."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ali_opt.errors import ConfigError
from ali_opt.runtime.executors.cell_process import import_root

ROOT = Path(__file__).resolve().parents[2]


def test_import_root_is_the_folder_holding_the_top_level_package():
    assert import_root("studies.train_ali") == ROOT
    assert import_root("ali_opt.runtime.executors.cell_process") == ROOT


def test_an_entry_point_that_cannot_be_imported_is_one_line():
    with pytest.raises(ConfigError, match=r"^entry_point='studies.no_such_study' is not valid: it cannot be "
                                          r"imported here \(no such module\)"):
        import_root("studies.no_such_study")


SWEEP = """
import sys
sys.path.insert(0, sys.argv[1])  # this checkout only: the installed project stays where it is
import ali_opt
assert ali_opt.__file__.startswith(sys.argv[1]), ali_opt.__file__
from ali_opt.config import CELL_KEYS
from ali_opt.runtime import Cell, run_cells
(outcome,) = run_cells([Cell("probe", {"output": "runs", "steps": 0})], {"workers": 1, "threads": 1},
                       entry_point="studies.train_ali", keys=CELL_KEYS, progress=False)
print(outcome.log)
"""


def test_a_cell_runs_the_study_of_an_uninstalled_checkout(tmp_path):
    """A copy of the project that no installation maps: its cell imports ``studies`` from the copy
    (the project here is installed in editable mode, so a wrong PYTHONPATH would import this one)."""
    checkout = tmp_path / "checkout"
    for package in ("ali_opt", "optimizers", "studies"):
        shutil.copytree(ROOT / package, checkout / package, ignore=shutil.ignore_patterns("__pycache__"))
    with open(checkout / "studies" / "__init__.py", "a") as file:
        file.write("\nprint('studies imported from', __file__, flush=True)\n")
    workdir = tmp_path / "work"  # not the checkout: `python -m` puts the working folder on sys.path
    workdir.mkdir()
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    finished = subprocess.run([sys.executable, "-c", SWEEP, str(checkout)], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    log = Path(finished.stdout.strip().splitlines()[-1]).read_text()
    assert f"studies imported from {checkout / 'studies' / '__init__.py'}" in log, log
    assert "steps=0 is not valid" in log, log  # the cell's config hook ran, and refused the config

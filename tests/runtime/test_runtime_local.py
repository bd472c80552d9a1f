"""The local executor: cells in parallel processes, a crash or a kill recorded as failed,
and a re-run that skips finished cells and resumes the killed one from its checkpoint."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

from ali_opt.records.runs import load_runs
from ali_opt.runtime import DONE, FAILED, RESUMED, SKIPPED, Cell, run_cells
from tests.helpers.configs import tiny_config
from tests.helpers.runs import TRAINING_CELLS

EXECUTOR = {"executor": "local", "workers": 2, "threads": 1}


def processes_running(config_file: Path) -> list[int]:
    """Pids of the processes whose command line names ``config_file`` (an attempt's config)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if str(config_file).encode() in command:
                pids.append(int(entry.name))
    return pids


def kill_once_checkpointed(output: Path, key: str, done: threading.Event, timeout_s: float = 120) -> int:
    """SIGKILL the process training cell ``key`` as soon as its run has written a checkpoint."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not done.is_set():
        for config_file in output.glob("executor/*/attempt1.json"):
            if json.loads(config_file.read_text())["cell"] != key:
                continue
            runs = [folder for folder in output.iterdir() if (folder / "checkpoint.pt").is_file()
                    and json.loads((folder / "config.json").read_text()).get("cell") == key]
            pids = processes_running(config_file)
            if runs and pids:
                os.kill(pids[0], signal.SIGKILL)
                return pids[0]
        time.sleep(0.02)
    raise AssertionError(f"cell {key} never ran long enough to be killed")


def test_killed_worker_is_resumed_by_a_rerun_and_every_cell_finishes_once(images, tmp_path):
    long = Cell("adam/long", tiny_config(images, tmp_path, steps=200, log_every=10, eval_every=100,
                                         checkpoint_every=10, optimizer={"name": "adam"}))
    short = Cell("extra_adam/short", tiny_config(images, tmp_path, steps=20, optimizer={"name": "extra_adam"}))
    broken = Cell("broken", tiny_config(images, tmp_path, optimizer={"name": "sgdx"}))
    cells = [long, short, broken]

    finished, outcomes = threading.Event(), {}

    def sweep():
        outcomes["first"] = run_cells(cells, EXECUTOR, progress=False, **TRAINING_CELLS)
        finished.set()

    worker = threading.Thread(target=sweep)
    worker.start()
    kill_once_checkpointed(tmp_path, long.key, finished)
    worker.join(timeout=300)
    first = {outcome.key: outcome for outcome in outcomes["first"]}
    assert first[long.key].status == FAILED and "killed by SIGKILL" in first[long.key].error
    assert first[short.key].status == DONE and first[short.key].result["grad_evals"] == 40
    assert first[broken.key].status == FAILED and "optimizer.name='sgdx' is not valid" in first[broken.key].error
    killed_run = first[long.key].folders[0]
    assert json.loads((killed_run / "run.json").read_text())["status"] == "RUNNING"  # SIGKILL: no last word

    second = {outcome.key: outcome for outcome in run_cells(cells, EXECUTOR, progress=False, **TRAINING_CELLS)}
    assert second[long.key].status == RESUMED and second[long.key].result["steps"] == 200
    assert second[long.key].folders[0] == killed_run
    resumed_run = second[long.key].folders[-1]
    assert json.loads((resumed_run / "config.json").read_text())["resume"] == str(killed_run.absolute())
    logged_steps = json.loads((resumed_run / "metrics.json").read_text())["loss_g"]["steps"]
    assert logged_steps[0] > 10 and logged_steps[-1] == 200  # continued from a checkpoint, not from step 0
    assert second[short.key].status == SKIPPED and second[short.key].folders == first[short.key].folders
    assert second[broken.key].status == FAILED

    # Every cell trained once: one COMPLETED run each, one start from scratch each.
    records = [(json.loads((f / "config.json").read_text()), json.loads((f / "run.json").read_text())["status"])
               for f in tmp_path.iterdir() if (f / "run.json").is_file()]
    for cell in (long, short):
        mine = [(config, status) for config, status in records if config["cell"] == cell.key]
        assert [status for _, status in mine].count("COMPLETED") == 1
        assert sum(not config["resume"] for config, _ in mine) == 1
    runs, _ = load_runs([tmp_path])
    stitched = {run.config["cell"]: run for run in runs}
    assert len(stitched[long.key].parts) == 2 and stitched[long.key].last_step() == 200

    third = run_cells(cells[:2], EXECUTOR, progress=False, **TRAINING_CELLS)
    assert [outcome.status for outcome in third] == [SKIPPED, SKIPPED]
    assert third[0].result == second[long.key].result

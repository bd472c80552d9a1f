"""Bad input to the sweep runtime gets one clear line; live and dead runs are told apart."""
from __future__ import annotations

import json
import os
from datetime import datetime, timedelta

import pytest

from ali_opt.errors import ConfigError
from ali_opt.config import CELL_KEYS
from ali_opt.runtime import FAILED, Cell, ExecutorConfig, run_cells
from ali_opt.runtime.executors.executor_config import oversubscription
from ali_opt.runtime.executors.run_records import cell_runs, plan
from tests.helpers.configs import tiny_config
from tests.helpers.runs import TRAINING_CELLS


@pytest.mark.parametrize("values, message", [
    ({"executor": "kubernetes"}, "executor='kubernetes' is not valid; choose one of: local, slurm"),
    ({"workers": -1}, "workers=-1 is not valid; it must be an integer >= 1, or 'auto' / None"),
    ({"workers": 0}, "workers=0 is not valid; it must be an integer >= 1, or 'auto' / None"),
    ({"workers": "2"}, "workers='2' is not valid; it must be an integer >= 1, or 'auto' / None"),
    ({"workers": True}, "workers=True is not valid"),
    ({"threads": -1}, "threads=-1 is not valid; it must be an integer >= 1, or 'auto' / None"),
    ({"threads": 0}, "threads=0 is not valid; it must be an integer >= 1, or 'auto' / None"),
    ({"worker": 2}, "worker=2: unknown key in the executor config; valid keys: executor, workers, threads, slurm"),
    ({"slurm": "debug"}, "slurm='debug' is not valid; it must be a dict of SLURM options"),
    ({"slurm": {"queue": "x"}}, "slurm.queue='x': unknown key in the slurm options"),
    ({"slurm": {"partition": "gpu"}}, "slurm.partition='gpu' is set but executor='local'"),
    ({"executor": "slurm", "slurm": {"time_min": 0}}, "slurm.time_min=0 is not valid; it must be a positive integer"),
    ({"executor": "slurm", "slurm": {"gpus_per_task": -1}}, "slurm.gpus_per_task=-1 is not valid"),
    ({"executor": "slurm", "slurm": {"sbatch": ["--qos=high"]}}, "slurm.sbatch=['--qos=high'] is not valid"),
])
def test_bad_executor_config_is_one_clear_line(values, message):
    with pytest.raises(ConfigError) as raised:
        ExecutorConfig.from_config(values)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_slurm_without_sbatch_on_path_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError, match=r"executor='slurm' is not available here: sbatch is not on PATH; "
                                          "use executor=local"):
        ExecutorConfig.from_config({"executor": "slurm", "slurm": {"partition": "gpu"}})


def test_slurm_with_an_unreachable_controller_is_refused(monkeypatch, tmp_path):
    for name in ("sbatch", "sinfo"):  # stand-ins: sinfo fails as it does when no controller answers
        command = tmp_path / name
        command.write_text("#!/bin/sh\necho 'sinfo: error: Unable to contact slurm controller' >&2\nexit 1\n")
        command.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    reason = r"sinfo cannot reach the SLURM controller \(sinfo: error: Unable to contact slurm controller\)"
    with pytest.raises(ConfigError, match=reason):
        ExecutorConfig.from_config({"executor": "slurm"})


def test_defaults_and_thread_shares():
    config = ExecutorConfig.from_config({})
    assert (config.executor, config.workers, config.threads) == ("local", os.cpu_count(), None)  # no GPU here
    assert config.threads_per_cell() == 1
    assert ExecutorConfig.from_config({"workers": 2, "threads": 3}).threads_per_cell() == 3
    assert ExecutorConfig.from_config({"workers": 64}).threads_per_cell() == 1


@pytest.mark.parametrize("cells, message", [
    ([], "cells=[] is not valid"),
    ([("a", {})], "cells[0]=('a', {}) is not valid; give ali_opt.runtime.Cell"),
    ([Cell("", {"output": "x"})], "cells[0].key='' is not valid"),
    ([Cell("a", {"output": "x"}), Cell("a", {"output": "x"})], "cells[1].key='a' is given twice"),
    ([Cell("a", {"output": ""})], "cell 'a': output='' is not valid"),
])
def test_bad_cells_are_refused_before_anything_runs(cells, message):
    with pytest.raises(ConfigError) as raised:
        run_cells(cells, progress=False, **TRAINING_CELLS)
    assert message in str(raised.value)


def fake_run(folder, cell_key, status, heartbeat, steps=20):
    """A run folder as Sacred leaves it, without training anything."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"cell": cell_key, "steps": steps, "resume": ""}))
    (folder / "run.json").write_text(json.dumps({"status": status, "start_time": heartbeat.isoformat(),
                                                 "heartbeat": heartbeat.isoformat(), "meta": {"named_configs": []},
                                                 "result": None}))


def test_a_live_run_is_left_alone_and_a_silent_one_counts_as_dead(images, tmp_path):
    cell = Cell("adam/seed0", tiny_config(images, tmp_path))
    now = datetime.utcnow()
    fake_run(tmp_path / "1", cell.key, "RUNNING", now - timedelta(seconds=5))
    (outcome,) = run_cells([cell], progress=False, **TRAINING_CELLS)
    assert outcome.status == FAILED and "is still running" in outcome.error
    assert [path.name for path in tmp_path.iterdir()] == ["1"]  # nothing was started
    assert plan(cell, cell_runs(cell, CELL_KEYS), stale_after_s=120, now=now).action == "busy"
    assert plan(cell, cell_runs(cell, CELL_KEYS), stale_after_s=120, now=now + timedelta(minutes=3)).action == "start"


def test_a_cell_key_reused_with_other_settings_is_refused(images, tmp_path):
    fake_run(tmp_path / "1", "adam/seed0", "COMPLETED", datetime.utcnow(), steps=20)
    with pytest.raises(ConfigError, match=r"cell 'adam/seed0': its run in .*1 has steps=20, but the cell now has "
                                          r"steps=40; give the cell a new key or another output folder"):
        run_cells([Cell("adam/seed0", tiny_config(images, tmp_path, steps=40))], progress=False, **TRAINING_CELLS)


def test_more_threads_than_cores_is_warned_about_before_any_cell_runs(tmp_path, caplog):
    cores = os.cpu_count()
    assert oversubscription(ExecutorConfig.from_config({"workers": cores, "threads": 1})) == ""
    assert oversubscription(ExecutorConfig.from_config({})) == ""
    warning = oversubscription(ExecutorConfig.from_config({"workers": cores, "threads": 2}))
    assert f"runs {2 * cores} CPU threads on {cores} cores" in warning
    with caplog.at_level("WARNING"), pytest.raises(ConfigError, match="cells=\\[\\] is not valid"):
        run_cells([], {"workers": cores, "threads": 2}, progress=False, **TRAINING_CELLS)
    assert warning in caplog.text

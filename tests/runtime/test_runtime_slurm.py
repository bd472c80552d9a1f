"""The SLURM executor on a real one-node cluster (started by the fixture): a 2 x 2 sweep
through submitit, its runs read back and drawn as the study's figures, then a re-run that
submits nothing."""
from __future__ import annotations

import json

import pytest

from ali_opt.records.runs import group_runs, load_runs
from ali_opt.runtime import DONE, SKIPPED, Cell, run_cells
from ali_opt.plots.all_figures import draw_all
from tests.helpers.configs import tiny_config
from tests.helpers.runs import TRAINING_CELLS
from tests.helpers.requirements import require
from tests.helpers.slurm_cluster import missing_binaries, slurm_cluster

SLURM_EXECUTOR = {"executor": "slurm", "threads": 1,
                  "slurm": {"partition": "debug", "time_min": 10, "cpus_per_task": 1, "array_parallelism": 2,
                            "sbatch": {"comment": "ali-opt test"}}}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A running cluster; skipped only outside CI (no ``CI`` variable) where SLURM is not installed."""
    require(missing_binaries(), "SLURM", ".ci/run installs slurm-wlm and munge")
    with slurm_cluster(tmp_path_factory.mktemp("slurm")) as env:
        yield env


def test_a_sweep_runs_as_slurm_jobs_and_reaches_the_figures(cluster, images, tmp_path, monkeypatch):
    for name, value in cluster.items():
        monkeypatch.setenv(name, value)
    output = tmp_path / "runs"
    cells = [Cell(f"{name}/seed{seed}", tiny_config(images, output, steps=10, optimizer={"name": name}, seed=seed))
             for name in ("adam", "extra_adam") for seed in (0, 1)]
    outcomes = run_cells(cells, SLURM_EXECUTOR, progress=False, **TRAINING_CELLS)
    assert [outcome.status for outcome in outcomes] == [DONE] * 4, [outcome.error for outcome in outcomes]
    for cell, outcome in zip(cells, outcomes):
        (folder,) = outcome.folders
        config = json.loads((folder / "config.json").read_text())
        assert config["cell"] == cell.key and config["seed"] == cell.config["seed"]
        assert json.loads((folder / "run.json").read_text())["status"] == "COMPLETED"
        evaluations_per_step = 2 if cell.config["optimizer"]["name"] == "extra_adam" else 1
        assert outcome.result["steps"] == 10 and outcome.result["grad_evals"] == 10 * evaluations_per_step
    assert list((output / "executor" / "slurm").glob("*_result.pkl"))  # the results came through submitit

    runs, _ = load_runs([output])
    groups = group_runs(runs)
    assert [(group.label, [run.seed for run in group.runs]) for group in groups] == \
        [("adam", [0, 1]), ("extra_adam", [0, 1])]
    written = draw_all(groups, tmp_path / "figures")
    assert {path.name for path in written} >= {"recon_vs_time.png", "stability.png", "summary.md"}
    summary = (tmp_path / "figures" / "summary.md").read_text()
    assert "extra_adam" in summary and "adam" in summary

    again = run_cells(cells, SLURM_EXECUTOR, progress=False, **TRAINING_CELLS)
    assert [outcome.status for outcome in again] == [SKIPPED] * 4
    assert [outcome.result for outcome in again] == [outcome.result for outcome in outcomes]

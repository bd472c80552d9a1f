"""The main study's sweep: its grid, equal budgets, selection on validation only, figures, bad input."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ali_opt.errors import ConfigError
from ali_opt.records.runs import Run
from ali_opt.plots.all_figures import sweep_figures_and_summary
from ali_opt.records.step_size_summary import sweep_summary
from ali_opt.records.selection import select_scales, sweep_runs, target_for, time_to_target
from studies import extragradient_cifar10 as study
from studies import train_ali
from ali_opt.sweeps.stages import StudyDesign, initial_scales, selection_cells
from tests.helpers.configs import study_config, tiny_config
from tests.helpers.runs import serial_run_cells


def sweep_config(images, folder, **updates):
    config = {**study_config(images, folder, eval_every=4, log_every=2, checkpoint_every=100),
              "comparison": [{"name": "adam"}, {"name": "extra_adam", "resample": True}], "lr_scales": [1, 4],
              "selection_seeds": 2, "confirmation_seeds": 2, "bracketing": False, "primary": "recon_mse",
              "budget_grad_evals": 8, "budget_flops": 0, "eval_points": [], "diversity_samples": 16,
              "workers": 1, "threads": 1,
              "data": {"name": "images", "root": str(images), "heldout": 16, "validation": 16}}
    config.update(updates)
    return config


def full_config(images, folder, **updates):
    """The study's config with the sweep's updates applied (as Sacred would fill it)."""
    return study.ex.run("print_config", config_updates=sweep_config(images, folder, **updates),
                        options={"--loglevel": "ERROR"}).config


def sweep_cells(config):
    """Stage one's first grid."""
    return selection_cells(config, StudyDesign.from_config(config), initial_scales(config))


def test_grid_is_entries_times_scales_times_seeds(images, tmp_path):
    cells = sweep_cells(full_config(images, tmp_path))
    assert [cell.key for cell in cells] == [f"selection/{name}/lr{scale}/seed{seed}" for name in ("adam", "extra_adam")
                                            for scale in (1, 4) for seed in (0, 1)]
    for cell in cells:
        scale = cell.config["sweep"]["lr_scale"]
        assert cell.config["optimizer"]["lr"] == pytest.approx({"d": 1e-4 * scale, "g": 5e-4 * scale})
        assert cell.config["sweep"]["entry"] == cell.config["optimizer"]["name"]
        assert cell.config["steps"] == cell.config["budget_grad_evals"] == 8
        assert cell.config["data"]["validation"] == 16
        assert not {"comparison", "lr_scales", "selection_seeds", "confirmation_seeds", "primary", "executor",
                    "workers", "slurm"} & set(cell.config)
    assert cells[-1].config["optimizer"]["resample"] is True and cells[-1].config["seed"] == 1


def test_labels_tell_entries_of_one_optimizer_apart(images, tmp_path):
    comparison = [{"name": "extra_adam", "resample": True, "label": "extra_adam_resampled"},
                  {"name": "extra_adam", "resample": False}]
    cells = sweep_cells(full_config(images, tmp_path, comparison=comparison, lr_scales=[2], selection_seeds=1))
    assert [cell.key for cell in cells] == ["selection/extra_adam_resampled/lr2/seed0", "selection/extra_adam/lr2/seed0"]
    assert "label" not in cells[0].config["optimizer"]


def test_an_entry_with_instance_noise_sets_the_training_key_and_keeps_the_optimizer(images, tmp_path):
    noise = {"std": 0.1, "anneal": "linear", "anneal_steps": 8}
    comparison = [{"name": "adam"}, {"name": "adam", "label": "adam+noise", "instance_noise": noise}]
    plain, noisy = sweep_cells(full_config(images, tmp_path, comparison=comparison, lr_scales=[1], selection_seeds=1))
    assert (plain.key, noisy.key) == ("selection/adam/lr1/seed0", "selection/adam+noise/lr1/seed0")
    assert noisy.config["instance_noise"] == noise and plain.config["instance_noise"]["std"] == 0
    assert noisy.config["optimizer"] == plain.config["optimizer"]
    assert noisy.config["sweep"]["entry"] == "adam+noise"
    partial = [{"name": "adam", "label": "adam+noise", "instance_noise": {"std": 0.2, "anneal": "constant"}}]
    (cell,) = sweep_cells(full_config(images, tmp_path, comparison=partial, lr_scales=[1], selection_seeds=1))
    assert cell.config["instance_noise"] == {"std": 0.2, "anneal": "constant", "anneal_steps": 0}
    bad = [{"name": "adam", "instance_noise": {"std": 0.1}}]
    with pytest.raises(ConfigError, match="instance_noise.anneal_steps=0 is not valid"):
        sweep_cells(full_config(images, tmp_path, comparison=bad, lr_scales=[1], selection_seeds=1))


@pytest.mark.parametrize("updates, message", [
    ({"lr_scales": []}, "lr_scales=[] is not valid"),
    ({"lr_scales": [1, 0]}, "lr_scales[1]=0 is not valid"),
    ({"lr_scales": [-2]}, "lr_scales[0]=-2 is not valid"),
    ({"lr_scales": [1, 1]}, "a scale is listed twice"),
    ({"budget_grad_evals": 0}, "budget_flops=0 is not valid for a sweep; it must be a number of FLOPs > 0"),
    ({"budget_grad_evals": -5}, "budget_grad_evals=-5 is not valid"),
    ({"budget_grad_evals": 0, "budget_flops": -1.0}, "budget_flops=-1.0 is not valid for a sweep"),
    ({"budget_flops": 1e9}, "budget_flops=1000000000.0 and budget_grad_evals=8 are not valid together"),
    ({"eval_points": [0, 1.5]}, "eval_points[1]=1.5 is not valid; every point is a fraction of the budget in [0, 1]"),
    ({"eval_points": [0.5, 0.25]}, "eval_points=[0.5, 0.25] is not valid; list the fractions in increasing order"),
    ({"eval_points": [0, 0.5, 0.5]}, "eval_points=[0, 0.5, 0.5] is not valid"),
    ({"eval_points": 0.5}, "eval_points=0.5 is not valid; give a list of fractions"),
    ({"selection_seeds": 0}, "selection_seeds=0 is not valid"),
    ({"confirmation_seeds": 1}, "confirmation_seeds=1 is not valid; stage two needs at least 2 seeds"),
    ({"confirmation_seed": 1}, "confirmation_seed=1 is not valid: confirmation seeds [1] are also selection seeds; give a first confirmation seed >= 2"),
    ({"bracket_factor": 1}, "bracket_factor=1 is not valid"),
    ({"bracket_rounds": -1}, "bracket_rounds=-1 is not valid"),
    ({"equivalence_margin": 0}, "equivalence_margin=0 is not valid"),
    ({"primary": "kid"}, "primary='kid' is not valid; it must be a test outcome the runs of this config log"),
    ({"primary": "recon_mse_valid"}, "primary='recon_mse_valid' is not valid"),
    ({"noise_draws": 0}, "noise_draws=0 is not valid"),
    ({"comparison": []}, "comparison=[] is not valid"),
    ({"comparison": [{"name": "adam"}, {"name": "adam"}]}, "has the label 'adam' of an earlier entry"),
    ({"comparison": [{"name": "sgdx"}]}, "optimizer.name='sgdx' is not valid"),
    ({"data": {"validation": -1}}, "data.validation=-1 is not valid"),
    ({"probe": {"images": 10, "features": "pixels", "l2": 0.01}}, "probe.features='pixels' is not valid"),
])
def test_bad_sweep_config_is_refused_before_any_run(images, tmp_path, updates, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        study.ex.run(config_updates=sweep_config(images, tmp_path / "runs", **updates), options={"--loglevel": "ERROR"})
    assert not (tmp_path / "runs").exists()


def test_two_stages_give_every_cell_the_budget_select_on_stage_one_and_judge_on_fresh_seeds(images, tmp_path,
                                                                                             monkeypatch):
    monkeypatch.setattr(study, "run_cells", serial_run_cells)
    comparison = [{"name": "adam"}, {"name": "extra_adam", "resample": True}, {"name": "alt_adam"}]
    finished = study.ex.run(config_updates=sweep_config(images, tmp_path, comparison=comparison, selection_seeds=1),
                            options={"--loglevel": "ERROR"})
    cells = finished.result["cells"]
    stage_one = [cell for cell in cells if cell["key"].startswith("selection/")]
    stage_two = [cell for cell in cells if cell["key"].startswith("confirmation/")]
    assert len(stage_one) == 3 * 2 and len(stage_two) == 3 * 2 and len(cells) == 12
    assert {cell["result"]["grad_evals"] for cell in cells} == {8}
    steps = {cell["key"].split("/")[1]: cell["result"]["steps"] for cell in cells}
    assert steps == {"adam": 8, "extra_adam": 4, "alt_adam": 4}
    selected = finished.result["selected_scales"]
    assert set(selected) == {"adam", "extra_adam", "alt_adam"}
    assert {cell["key"] for cell in stage_two} == {f"confirmation/{label}/lr{selected[label]:g}/seed{seed}"
                                                  for label in selected for seed in (100, 101)}
    seeds = {stage: {json.loads(Path(cell["folders"][0], "config.json").read_text())["seed"] for cell in group}
             for stage, group in (("selection", stage_one), ("confirmation", stage_two))}
    assert seeds == {"selection": {0}, "confirmation": {100, 101}}
    first = json.loads(Path(stage_one[0]["folders"][0], "config.json").read_text())
    assert first["eval_points"] == [0, 1.0] and first["sweep"]["stage"] == "selection"
    metrics = json.loads(Path(stage_two[0]["folders"][0], "metrics.json").read_text())
    assert {"recon_mse", "recon_mse_valid", "sample_diversity", "loss_gap", "grad_norm_d"} <= set(metrics)
    assert metrics["grad_evals"]["values"][-1] == 8
    written = {Path(path).name for path in finished.result["figures"]}
    assert {"stability_vs_step_size.png", "outcomes_vs_step_size.png", "losses.png", "selected_curves.png",
            "pairs.png", "summary.md", "summary.csv", "pairwise.csv", "stability.csv"} <= written
    with open(tmp_path / "figures" / "summary.csv") as file:
        header = file.readline().strip().split(",")
    assert {"optimizer", "selected_scale", "bracket", "largest_stable_scale", "failure_rate"} <= set(header)
    with open(tmp_path / "figures" / "pairwise.csv") as file:
        header = file.readline().strip().split(",")
    assert {"difference", "difference_low", "difference_high", "p", "p_holm", "p_equivalence",
            "min_detectable_difference", "verdict", "paired"} <= set(header)
    summary = (tmp_path / "figures" / "summary.md").read_text()
    assert "extra_adam" in summary and "consistent across every seed" not in summary


def test_a_rerun_of_a_finished_study_trains_nothing_and_reaches_the_same_decisions(images, tmp_path):
    """With the real executor: stage one extends a one-scale grid both ways, stage two runs
    at the selection; the same command again skips every cell and decides the same."""
    config = sweep_config(images, tmp_path, comparison=[{"name": "adam"}], selection_seeds=1, lr_scales=[1],
                          bracketing=True, bracket_rounds=1)
    first = study.ex.run(config_updates=config, options={"--loglevel": "ERROR"})
    assert first.result["grids"]["adam"] == [0.25, 1, 4]  # one scale: both edges extended once
    assert [cell["status"] for cell in first.result["cells"]] == ["done"] * 5
    runs = sorted(path.name for path in tmp_path.iterdir() if (path / "run.json").is_file())
    second = study.ex.run(config_updates=config, options={"--loglevel": "ERROR"})
    assert [cell["status"] for cell in second.result["cells"]] == ["skipped"] * 5
    assert (second.result["selected_scales"], second.result["grids"]) == (first.result["selected_scales"],
                                                                          first.result["grids"])
    assert sorted(path.name for path in tmp_path.iterdir() if (path / "run.json").is_file()) == runs


def test_a_flops_budget_gives_every_cell_the_same_compute_and_evaluation_points(images, tmp_path, monkeypatch):
    """With the study's default budget kind (FLOPs) and evaluation points, Adam and Extra-Adam
    cells stop at the first step reaching the budget and are evaluated at the first step
    reaching each fraction of it, step 0 (the untrained model) included."""
    monkeypatch.setattr(study, "run_cells", serial_run_cells)
    config = sweep_config(images, tmp_path, lr_scales=[1], selection_seeds=1, budget_grad_evals=0, budget_flops=1e9)
    del config["eval_points"]  # the study's own
    finished = study.ex.run(config_updates=config, options={"--loglevel": "ERROR"})
    keys = [cell["key"] for cell in finished.result["cells"]]
    assert keys == ["selection/adam/lr1/seed0", "selection/extra_adam/lr1/seed0", "confirmation/adam/lr1/seed100",
                    "confirmation/adam/lr1/seed101", "confirmation/extra_adam/lr1/seed100",
                    "confirmation/extra_adam/lr1/seed101"]
    cells = [cell for cell in finished.result["cells"] if cell["key"].endswith("seed100")]  # the study's eval points
    reached = []
    for cell in cells:
        folder = Path(cell["folders"][0])
        run_config = json.loads((folder / "config.json").read_text())
        points, budget = run_config["eval_points"], run_config["budget_flops"]
        assert points[0] == 0 and points[-1] == 1 and budget == 1e9
        metrics = json.loads((folder / "metrics.json").read_text())
        flops_at = dict(zip(metrics["flops"]["steps"], metrics["flops"]["values"]))
        per_step = cell["result"]["flops"] / cell["result"]["steps"]  # both schemes: the same FLOPs every step
        assert all(flops_at[step] == step * per_step for step in flops_at)
        first_steps = [math.ceil(point * budget / per_step) for point in points]  # the first step reaching each
        evaluated = metrics["recon_mse"]["steps"]
        assert evaluated == sorted(set(first_steps)) and evaluated[0] == 0 and flops_at[0] == 0
        assert budget <= cell["result"]["flops"] < budget + per_step
        assert cell["result"]["steps"] == evaluated[-1] == first_steps[-1]
        reached.append([[flops_at[step] >= point * budget for step in evaluated] for point in points])
    assert reached[0] == reached[1]  # each cell reached each point at the same evaluation
    steps = {cell["key"].split("/")[1]: cell["result"]["steps"] for cell in cells}
    assert steps["extra_adam"] == math.ceil(steps["adam"] / 2)  # its step costs exactly two of Adam's


def test_missing_data_fails_the_sweep_once_before_any_cell_starts(images, tmp_path, monkeypatch):
    def no_cells(cells, executor, **kwargs):
        raise AssertionError("a cell was started")

    monkeypatch.setattr(study, "run_cells", no_cells)
    config = sweep_config(images, tmp_path / "runs")
    config["data"] = {**config["data"], "root": str(tmp_path / "missing.npz")}
    with pytest.raises(ConfigError, match="missing.npz"):
        study.ex.run(config_updates=config, options={"--loglevel": "ERROR"})
    assert not (tmp_path / "runs" / "executor").exists()


@pytest.mark.parametrize("updates, message", [
    ({"workers": 0}, "workers=0 is not valid"),
    ({"executor": "kubernetes"}, "executor='kubernetes' is not valid"),
    ({"slurm": {"partition": "gpu"}}, "slurm.partition='gpu' is set but executor='local'"),
])
def test_a_bad_executor_key_is_refused_before_the_data_is_read(images, tmp_path, updates, message):
    config = sweep_config(images, tmp_path / "runs", **updates)
    config["data"] = {**config["data"], "root": str(tmp_path / "missing.npz")}  # read first, this would fail
    with pytest.raises(ConfigError) as raised:
        study.ex.run(config_updates=config, options={"--loglevel": "ERROR"})
    assert str(raised.value).startswith(message), raised.value
    assert not (tmp_path / "runs").exists()


def test_budget_that_a_step_overshoots_stops_at_the_first_step_reaching_it(images, tmp_path):
    finished = train_ali.ex.run(config_updates=tiny_config(images, tmp_path, steps=50, budget_grad_evals=7,
                                                           optimizer={"name": "extra_adam"}),
                                options={"--loglevel": "ERROR"})
    assert (finished.result["steps"], finished.result["grad_evals"]) == (4, 8)


def fake_run(entry, scale, seed, valid, test, diverged_at=None, diversity=1.0, status="COMPLETED", probe=0.3):
    steps = np.array([10, 20])
    metrics = {"recon_mse_valid": (steps, np.array([0.08, valid])), "recon_mse": (steps, np.array([0.08, test])),
               "probe_accuracy": (steps, np.array([0.2, probe])), "sample_diversity": (steps, np.array([0.1, diversity])),
               "grad_evals": (steps, steps.astype(float)), "wall_time": (steps, steps / 10.0),
               "cpu_time": (steps, steps / 10.0)}
    config = {"seed": seed, "optimizer": {"name": entry}, "sweep": {"entry": entry, "lr_scale": scale}}
    return Run(Path(f"/runs/{entry}/{scale}/{seed}"), config, status, {}, diverged_at, metrics)


def test_selection_reads_validation_never_test():
    # Validation prefers scale 1, test prefers scale 4: the selection follows validation.
    runs = [fake_run("adam", 1, seed, valid=0.05, test=0.09) for seed in (0, 1)]
    runs += [fake_run("adam", 4, seed, valid=0.06, test=0.01) for seed in (0, 1)]
    assert select_scales(sweep_runs(runs)) == {"adam": 1.0}
    for run in runs:  # the test curves say the opposite; deleting them changes nothing
        del run.metrics["recon_mse"], run.metrics["probe_accuracy"]
    assert select_scales(sweep_runs(runs)) == {"adam": 1.0}


def test_a_scale_with_a_diverged_or_unfinished_seed_is_not_eligible():
    runs = [fake_run("gda", 1, 0, valid=0.07, test=0.07), fake_run("gda", 1, 1, valid=0.07, test=0.07),
            fake_run("gda", 2, 0, valid=0.01, test=0.01), fake_run("gda", 2, 1, valid=0.01, test=0.01, diverged_at=15),
            fake_run("gda", 3, 0, valid=0.01, test=0.01, status="RUNNING")]
    assert select_scales(sweep_runs(runs)) == {"gda": 1.0}
    only_diverged = [fake_run("eg", 8, 0, valid=0.01, test=0.01, diverged_at=15)]
    assert select_scales(sweep_runs(only_diverged)) == {"eg": None}


def test_time_to_target_is_reached_by_some_but_not_all_runs():
    runs = [fake_run("a", 1, seed, valid=value, test=0.1) for seed, value in enumerate((0.03, 0.05, 0.07))]
    for run in runs:  # the untrained model, at step 0
        steps, values = run.metrics["recon_mse_valid"]
        run.metrics["recon_mse_valid"] = (np.concatenate([[0], steps]), np.concatenate([[0.11], values]))
    target, baseline, best = target_for(runs, "recon_mse_valid")  # halfway from the untrained value to the best
    assert (target, baseline, best) == pytest.approx((0.07, 0.11, 0.03))
    times = [time_to_target(run, "recon_mse_valid", target) for run in runs]
    assert times == [2.0, 2.0, 2.0]
    assert np.isnan(time_to_target(runs[2], "recon_mse_valid", 0.05))


def test_summary_reports_test_outcomes_at_the_selected_scale_and_figures_are_drawn(tmp_path):
    runs = [fake_run("adam", 1, seed, valid=0.05, test=0.09 + seed / 100, probe=0.3) for seed in (0, 1)]
    runs += [fake_run("adam", 4, seed, valid=0.06, test=0.01, probe=0.9, diversity=0.1) for seed in (0, 1)]
    runs += [fake_run("extra_adam", 1, seed, valid=0.07, test=0.07, diverged_at=15 if seed else None)
             for seed in (0, 1)]
    cells = sweep_runs(runs)
    summary = sweep_summary(cells, select_scales(cells))
    adam, extra = summary.rows
    # final: the mean of the last (up to 3) evaluations, 0.08 and the last value
    assert (adam["selected_scale"], adam["recon_mse"]) == (1.0, pytest.approx((0.085 + 0.09) / 2))
    assert adam["probe_accuracy"] == pytest.approx(0.25)
    assert adam["recon_mse_low"] <= adam["recon_mse"] <= adam["recon_mse_high"]
    assert extra["diverged_all"] == "1/2" and "collapsed_all" not in adam
    assert np.isnan(extra["selected_scale"]) and extra["seeds"] == 0
    written = sweep_figures_and_summary(cells, tmp_path)
    assert all(path.stat().st_size > 0 for path in written)
    assert {path.name for path in written} >= {"stability_vs_step_size.png", "failures_vs_step_size.png",
                                               "selected_curves.png", "summary.md", "summary.csv"}


def interrupt_in_a_terminal(study: subprocess.Popen) -> None:
    os.killpg(study.pid, signal.SIGINT)  # Ctrl-C: SIGINT to the whole foreground process group


def kill_the_study(study: subprocess.Popen) -> None:
    os.kill(study.pid, signal.SIGTERM)  # `kill PID`, or a batch system's stop: the sweep's process alone


@pytest.mark.parametrize("stop", [interrupt_in_a_terminal, kill_the_study])
def test_a_stopped_sweep_says_how_to_resume_in_one_line_and_its_running_cells_checkpoint(images, tmp_path, stop):
    """The running cells write checkpoints (their runs end INTERRUPTED), and the study prints
    one line on how to resume, no traceback, and exits non-zero."""
    output = tmp_path / "runs"
    config = sweep_config(images, output, comparison=[{"name": "adam"}], lr_scales=[1], selection_seeds=2, workers=2,
                          budget_grad_evals=100000, checkpoint_every=5, eval_every=100000)
    config_file = tmp_path / "sweep.json"
    config_file.write_text(json.dumps(config))
    # SIGINT as a terminal's foreground job has it, even where the test runs in the background (ignored there)
    study = subprocess.Popen([sys.executable, "-m", "studies.extragradient_cifar10", "with", str(config_file)],
                             cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while len(list(output.glob("*/checkpoint.pt"))) < 2 and time.monotonic() < deadline and study.poll() is None:
        time.sleep(0.1)
    assert study.poll() is None, study.communicate()
    stop(study)
    _, stderr = study.communicate(timeout=120)
    assert study.returncode == 1, stderr
    assert "interrupted: the running cells wrote checkpoints; run the same command again" in stderr
    assert "Traceback" not in stderr
    statuses = [json.loads((folder / "run.json").read_text())["status"]
                for folder in output.iterdir() if (folder / "checkpoint.pt").is_file()]
    assert sorted(statuses) == ["INTERRUPTED", "INTERRUPTED"]

"""The ALI training run: metrics contract, exact resume, divergence, signals, bad input."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ali_opt.runtime import sacred_setup
from ali_opt.runtime.sacred_setup import AtomicFileStorageObserver
from studies.train_ali import ex
from tests.helpers.configs import tiny_config
from tests.helpers.runs import final_parameters, run, train_ali_cli

ROOT = Path(__file__).resolve().parents[2]


def test_logs_the_metric_contract(images, tmp_path):
    finished = run(images, tmp_path)
    metrics = json.loads((tmp_path / "1" / "metrics.json").read_text())
    expected = {"loss_g", "loss_d", "loss_gap", "d_real", "d_fake", "grad_norm_g", "grad_norm_d", "grad_norm_encoder",
                "grad_norm_decoder", "grad_norm_discriminator", "mu_mean", "mu_std", "sigma_mean", "grad_evals",
                "wall_time", "cpu_time", "recon_mse", "recon_mse_train"}
    assert expected <= set(metrics)
    assert metrics["loss_g"]["steps"] == [5, 10, 15, 20]
    assert metrics["recon_mse"]["steps"] == [10, 20]
    assert np.allclose(np.subtract(metrics["loss_g"]["values"], metrics["loss_d"]["values"]), metrics["loss_gap"]["values"])
    assert all(0 < p < 1 for p in metrics["d_real"]["values"])
    assert metrics["grad_evals"]["values"] == [5, 10, 15, 20]
    assert finished.result["diverged_at"] is None
    assert {"samples.png", "reconstructions.png", "interpolations.png"} <= {p.name for p in (tmp_path / "1").iterdir()}


def test_extragradient_counts_two_gradient_evaluations_per_step(images, tmp_path):
    run(images, tmp_path, steps=10, optimizer={"name": "extra_adam"})
    metrics = json.loads((tmp_path / "1" / "metrics.json").read_text())
    assert metrics["grad_evals"]["values"] == [10, 20]


def same(a, b) -> bool:
    """Bit for bit: tensors, and dicts and lists of them."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def test_flops_are_logged_and_counting_them_leaves_the_run_bit_for_bit(images, tmp_path, monkeypatch):
    """The run measures its step's FLOPs on copies (nothing cached here): it trains exactly as a
    run charged a made-up cost without measuring anything."""
    import ali_opt.training
    from ali_opt.metrics import flops
    from ali_opt.metrics.flops import StepCost

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(flops, "_MEMORY", {})
    optimizer = {"name": "extra_adam", "resample": True}
    counted = run(images, tmp_path / "counted", steps=10, optimizer=optimizer)
    per_step = counted.result["flops"] / 10
    assert per_step > 0 and counted.result["budget_flops"] is None
    metrics = json.loads((tmp_path / "counted" / "1" / "metrics.json").read_text())
    assert metrics["flops"]["steps"] == [5, 10] and metrics["flops"]["values"] == [5 * per_step, 10 * per_step]
    monkeypatch.setattr(ali_opt.training, "run_step_cost", lambda *args: StepCost(1, 2))
    made_up = run(images, tmp_path / "made_up", steps=10, optimizer=optimizer)
    assert made_up.result["flops"] == 10
    a, b = (torch.load(tmp_path / folder / "1" / "checkpoint.pt", weights_only=True) for folder in ("counted", "made_up"))
    for key in ("game", "optimizer", "rng", "step"):
        assert same(a[key], b[key]), key
    assert (a["flops"], b["flops"]) == (counted.result["flops"], 10)


def budget_run(images, folder, per_step, **updates):
    """Extra-Adam with a budget of 10.5 steps' FLOPs, evaluated at 0, 0.3, 0.5 and 1 of it."""
    return run(images, folder, **{"steps": 50, "budget_flops": 10.5 * per_step, "eval_points": [0, 0.3, 0.5, 1],
                                  "optimizer": {"name": "extra_adam"}, **updates})


def test_flops_budget_and_eval_points_and_a_resume_that_evaluates_each_point_once(images, tmp_path):
    per_step = run(images, tmp_path / "one", steps=1, optimizer={"name": "extra_adam"}).result["flops"]
    straight = budget_run(images, tmp_path / "straight", per_step)
    assert (straight.result["steps"], straight.result["flops"]) == (11, 11 * per_step)  # the first step reaching it
    assert straight.result["budget_flops"] == 10.5 * per_step and straight.result["grad_evals"] == 22
    metrics = json.loads((tmp_path / "straight" / "1" / "metrics.json").read_text())
    assert metrics["recon_mse"]["steps"] == [0, 4, 6, 11]  # first steps reaching 0, 3.15, 5.25 and 10.5 steps' FLOPs
    flops_at = dict(zip(metrics["flops"]["steps"], metrics["flops"]["values"]))
    assert flops_at == {step: step * per_step for step in (0, 4, 5, 6, 10, 11)}  # log steps 5, 10; eval steps
    assert metrics["grad_evals"]["steps"][0] == metrics["cpu_time"]["steps"][0] == 0
    assert straight.result["best_recon_mse"] == min(metrics["recon_mse"]["values"][1:])  # not the untrained model

    budget_run(images, tmp_path / "split", per_step, steps=5)  # stopped at step 5 (evaluated: the last step)
    resumed = budget_run(images, tmp_path / "split", per_step, resume=str(tmp_path / "split" / "1"))
    assert (resumed.result["steps"], resumed.result["flops"]) == (11, 11 * per_step)
    metrics = json.loads((tmp_path / "split" / "2" / "metrics.json").read_text())
    assert metrics["recon_mse"]["steps"] == [6, 11]  # 0 and 0.3 were done before the checkpoint
    assert dict(zip(metrics["flops"]["steps"], metrics["flops"]["values"]))[6] == 6 * per_step
    straight_state = final_parameters(tmp_path / "straight" / "1")
    resumed_state = final_parameters(tmp_path / "split" / "2")
    assert all(torch.equal(straight_state[key], resumed_state[key]) for key in straight_state)


def test_eval_points_without_a_budget_are_fractions_of_steps(images, tmp_path):
    run(images, tmp_path, steps=8, log_every=4, eval_points=[0.25, 1.0])
    metrics = json.loads((tmp_path / "1" / "metrics.json").read_text())
    assert metrics["recon_mse"]["steps"] == [2, 8]


@pytest.mark.parametrize("optimizer", [
    {"name": "adam"},
    {"name": "extra_adam", "resample": True, "average": "ema"},
    {"name": "optimistic_adam"},
    {"name": "alt_adam", "d_steps": 2},
])
def test_resumed_run_continues_bit_for_bit(images, tmp_path, optimizer):
    run(images, tmp_path / "straight", optimizer=optimizer)
    run(images, tmp_path / "split", optimizer=optimizer, steps=10)
    run(images, tmp_path / "split", optimizer=optimizer, resume=str(tmp_path / "split" / "1"))
    straight, resumed = final_parameters(tmp_path / "straight" / "1"), final_parameters(tmp_path / "split" / "2")
    assert straight.keys() == resumed.keys()
    for name in straight:
        assert torch.equal(straight[name], resumed[name]), name
    straight_state = torch.load(tmp_path / "straight" / "1" / "checkpoint.pt", weights_only=True)
    resumed_state = torch.load(tmp_path / "split" / "2" / "checkpoint.pt", weights_only=True)
    assert straight_state["step"] == resumed_state["step"] == 20
    assert straight_state["optimizer"]["inner" if "average" in optimizer else "rules"] is not None


def test_instance_noise_changes_the_run_and_resumes_bit_for_bit(images, tmp_path):
    """Annealed instance noise (sigma_t still changing when the run stops at step 10) and extragradient
    reusing its batch: the resumed run draws the noise the straight run drew."""
    settings = {"optimizer": {"name": "extra_adam", "resample": False},
                "instance_noise": {"std": 0.2, "anneal": "linear", "anneal_steps": 15}}
    run(images, tmp_path / "straight", **settings)
    run(images, tmp_path / "split", steps=10, **settings)
    run(images, tmp_path / "split", resume=str(tmp_path / "split" / "1"), **settings)
    run(images, tmp_path / "clean", optimizer=settings["optimizer"])
    straight, resumed = final_parameters(tmp_path / "straight" / "1"), final_parameters(tmp_path / "split" / "2")
    assert all(torch.equal(straight[name], resumed[name]) for name in straight)
    clean = final_parameters(tmp_path / "clean" / "1")
    assert any(not torch.equal(straight[name], clean[name]) for name in clean)
    with pytest.raises(Exception, match="instance_noise.std"):
        run(images, tmp_path / "split", resume=str(tmp_path / "split" / "1"), optimizer=settings["optimizer"])


def test_same_seed_same_run_and_other_seed_differs(images, tmp_path):
    run(images, tmp_path / "a", steps=5)
    run(images, tmp_path / "b", steps=5)
    run(images, tmp_path / "c", steps=5, seed=1)
    a, b, c = (final_parameters(tmp_path / x / "1") for x in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_divergence_stops_cleanly_and_keeps_the_last_good_checkpoint(images, tmp_path):
    finished = run(images, tmp_path, steps=40, log_every=1, checkpoint_every=1, optimizer={"name": "gda", "lr": 1e4})
    diverged_at = finished.result["diverged_at"]
    assert diverged_at is not None and 2 <= diverged_at <= 40
    assert finished.status == "COMPLETED"
    assert finished.info["diverged_at"] == diverged_at
    metrics = json.loads((tmp_path / "1" / "metrics.json").read_text())
    assert metrics["loss_d"]["steps"] == list(range(1, diverged_at))
    assert all(np.isfinite(metrics["loss_d"]["values"]))
    checkpoint = torch.load(tmp_path / "1" / "checkpoint.pt", weights_only=True)
    assert checkpoint["step"] == diverged_at - 1
    assert all(torch.isfinite(t).all() for t in checkpoint["game"].values() if t.is_floating_point())


def test_a_step_that_makes_a_parameter_non_finite_is_the_divergence_step(images, tmp_path):
    """A step of 1e39 (inf in float32) leaves finite losses and gradients at step 1's starting point
    but infinite parameters after it: the run diverged at step 1 and trained 0 finite steps."""
    finished = run(images, tmp_path, steps=5, log_every=1, optimizer={"name": "gda", "lr": 1e39})
    assert finished.result["diverged_at"] == 1
    assert finished.result["steps"] == 0


def test_averaged_runs_log_the_live_model_too(images, tmp_path):
    run(images, tmp_path, steps=4, log_every=4, eval_every=4, optimizer={"name": "adam", "average": "ema"})
    metrics = json.loads((tmp_path / "1" / "metrics.json").read_text())
    assert metrics["recon_mse_live"]["steps"] == metrics["recon_mse"]["steps"] == [4]
    assert metrics["recon_mse_live"]["values"] != metrics["recon_mse"]["values"]


def test_clocks_stop_before_the_final_figures(images, tmp_path, monkeypatch):
    import ali_opt.training

    drawing = ali_opt.training._write_figures

    def slow_figures(*args):
        time.sleep(1.0)
        drawing(*args)

    monkeypatch.setattr(ali_opt.training, "_write_figures", slow_figures)
    finished = run(images, tmp_path, steps=2, log_every=2, eval_every=2)
    metrics = json.loads((tmp_path / "1" / "metrics.json").read_text())
    assert finished.result["wall_time"] - metrics["wall_time"]["values"][-1] < 0.5


def test_file_storage_flag_records_the_run_once_with_its_checkpoint(images, tmp_path):
    """Sacred's -F DIR is output=DIR: one copy of the run, in DIR, which resumes."""
    config = tiny_config(images, tmp_path / "unused", steps=10)
    del config["output"]
    flagged = tmp_path / "flagged"
    ex.run(config_updates=config, options={"--file_storage": str(flagged), "--loglevel": "ERROR"})
    assert (flagged / "1" / "checkpoint.pt").exists()
    assert json.loads((flagged / "1" / "config.json").read_text())["output"] == str(flagged)
    resumed = run(images, tmp_path / "resumed", steps=12, resume=str(flagged / "1"))
    assert resumed.result["steps"] == 12


def test_file_storage_flag_and_another_output_are_refused(images, tmp_path):
    config = tiny_config(images, tmp_path / "other", steps=10)
    with pytest.raises(Exception, match="name two places"):
        ex.run(config_updates=config, options={"--file_storage": str(tmp_path / "flagged"), "--loglevel": "ERROR",
                                               "UPDATE": [f"output={tmp_path / 'other'}"]})
    assert not (tmp_path / "other").exists() and not (tmp_path / "flagged").exists()


def test_a_record_write_cut_short_leaves_the_previous_record_whole(tmp_path, monkeypatch):
    """A process killed while Sacred rewrites run.json would leave half a file, and a sweep would
    lose that run's checkpoint; the project's observer replaces the file in one rename."""
    observer = AtomicFileStorageObserver(tmp_path)
    observer.dir = str(tmp_path)
    observer.save_json({"status": "RUNNING", "step": 10}, "run.json")
    assert json.loads((tmp_path / "run.json").read_text()) == {"status": "RUNNING", "step": 10}
    assert (tmp_path / "run.json").stat().st_mode & 0o777 == 0o644

    def dump_half_then_die(obj, file, **options):
        file.write('{"status": "RUNN')
        raise KeyboardInterrupt  # the kill, mid-write

    monkeypatch.setattr(sacred_setup.json, "dump", dump_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        observer.save_json({"status": "COMPLETED", "step": 20}, "run.json")
    assert json.loads((tmp_path / "run.json").read_text()) == {"status": "RUNNING", "step": 10}
    assert [path.name for path in tmp_path.iterdir()] == ["run.json"]  # no temporary file left


def test_runs_are_recorded_by_the_atomic_observer(images, tmp_path):
    run = ex.run(config_updates=tiny_config(images, tmp_path, steps=5, eval_every=5, checkpoint_every=5),
                 options={"--loglevel": "ERROR"})
    assert [type(observer) for observer in run.observers] == [AtomicFileStorageObserver]
    assert json.loads((tmp_path / str(run._id) / "run.json").read_text())["status"] == "COMPLETED"


def test_sigterm_writes_a_checkpoint_and_the_run_resumes(images, tmp_path):
    settings = tiny_config(images, tmp_path, steps=100000, checkpoint_every=100000)
    command = [sys.executable, "-m", "studies.train_ali", "with", *(f"{k}={v!r}" for k, v in settings.items())]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    metrics = tmp_path / "1" / "metrics.json"
    deadline = time.time() + 240
    while not (metrics.exists() and "loss_d" in metrics.read_text()) and time.time() < deadline:
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0, output
    assert (tmp_path / "1" / "checkpoint.pt").exists(), output
    checkpoint = torch.load(tmp_path / "1" / "checkpoint.pt", weights_only=True)
    assert 0 < checkpoint["step"] < 100000
    assert json.loads((tmp_path / "1" / "run.json").read_text())["status"] == "INTERRUPTED"
    resumed = run(images, tmp_path, steps=checkpoint["step"] + 5, resume=str(tmp_path / "1"))
    assert resumed.result["steps"] == checkpoint["step"] + 5


@pytest.mark.parametrize("args, message", [
    (["model=resnet"], "model='resnet' is not valid; choose one of: cifar32"),
    (["optimizer.name=sgdx"], "optimizer.name='sgdx' is not valid; choose one of: gda, adam"),
    (["optimizer.lr=-1.0"], "optimizer.lr=-1.0 is not valid"),
    (["optimizer.betas=[0.5,1.5]"], "optimizer.betas[1]=1.5 is not valid"),
    (["optimizer.d_steps=0"], "optimizer.d_steps=0 is not valid"),
    (["batch_size=0"], "batch_size=0 is not valid"),
    (["device=tpu"], "device='tpu' is not valid"),
    (["precision=fp8"], "precision='fp8' is not valid"),
    (["budget_flops=-1"], "budget_flops=-1 is not valid; it must be a number of FLOPs >= 0"),
    (["budget_flops=1e9", "budget_grad_evals=5"], "budget_flops=1000000000.0 and budget_grad_evals=5 are not valid"),
    (["eval_points=[0,1.5]"], "eval_points[1]=1.5 is not valid; every point is a fraction of the budget in [0, 1]"),
    (["eval_points=[0.5,0.5]"], "eval_points=[0.5, 0.5] is not valid; list the fractions in increasing order"),
])
def test_bad_config_is_one_line_and_creates_no_run(tmp_path, args, message):
    finished = train_ali_cli("with", f"output={tmp_path}", *args)
    assert finished.returncode != 0
    lines = [line for line in finished.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], finished.stderr
    assert not any(tmp_path.iterdir())


def test_missing_data_fails_before_training(tmp_path):
    finished = train_ali_cli("with", f"output={tmp_path / 'runs'}", f"data.root={tmp_path / 'nowhere'}", "data.download=False",
                   "device=cpu")
    assert finished.returncode != 0
    assert str(tmp_path / "nowhere") in finished.stderr
    assert "Traceback" not in finished.stderr


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", "truncated"])
def test_bad_checkpoint_is_refused(images, tmp_path, content):
    if content == "truncated":
        run(images, tmp_path / "good", steps=10)
        content = (tmp_path / "good" / "1" / "checkpoint.pt").read_bytes()[:5000]
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "checkpoint.pt").write_bytes(content)
    finished = train_ali_cli("with", f"output={tmp_path / 'runs'}", f"resume={tmp_path / 'bad'}", "device=cpu",
                   *(f"{k}={json.dumps(v)}" for k, v in tiny_config(images, tmp_path / "runs").items()
                     if k not in ("output",)))
    assert finished.returncode != 0
    assert "truncated, corrupt or not a checkpoint" in finished.stderr, finished.stderr
    assert "Traceback" not in finished.stderr


def test_resume_with_another_optimizer_is_refused(images, tmp_path):
    run(images, tmp_path, steps=10)
    with pytest.raises(Exception, match="optimizer"):
        run(images, tmp_path, optimizer={"name": "extra_adam"}, resume=str(tmp_path / "1"))

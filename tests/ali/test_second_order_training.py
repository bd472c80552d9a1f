"""The second-order schemes and lookahead in ALI training runs; the spectrum and Hamiltonian in a run's metrics."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from tests.helpers.runs import final_parameters, run

SHORT = {"steps": 6, "log_every": 3, "eval_every": 3, "checkpoint_every": 3}


@pytest.mark.parametrize("optimizer", [
    {"name": "consensus", "lr": 1e-3},
    {"name": "consensus_adam"},
    {"name": "sga", "lr": 1e-3},
    {"name": "sga_adam"},
    {"name": "cgd", "lr": 1e-3, "cgd_max_iter": 3},
    {"name": "adam", "lookahead_k": 2, "average": "ema"},
])
def test_new_optimizers_train_ali_and_resume_bit_for_bit(images, tmp_path, optimizer):
    finished = run(images, tmp_path / "straight", optimizer=optimizer, **SHORT)
    assert finished.result["diverged_at"] is None
    run(images, tmp_path / "split", optimizer=optimizer, **{**SHORT, "steps": 3})
    run(images, tmp_path / "split", optimizer=optimizer, **SHORT, resume=str(tmp_path / "split" / "1"))
    straight, resumed = final_parameters(tmp_path / "straight" / "1"), final_parameters(tmp_path / "split" / "2")
    assert straight.keys() == resumed.keys()
    for name in straight:
        assert torch.equal(straight[name], resumed[name]), name
    initial = torch.load(tmp_path / "split" / "1" / "checkpoint.pt", weights_only=True)["game"]
    metrics = json.loads((tmp_path / "straight" / "1" / "metrics.json").read_text())
    solver_logged = {"solver_iterations", "solver_residual"} <= set(metrics)
    assert solver_logged == (optimizer["name"] == "cgd")
    if solver_logged:  # the last solve of each logged step: at most cgd_max_iter iterations
        assert metrics["solver_iterations"]["steps"] == metrics["loss_d"]["steps"] == [3, 6]
        assert all(1 <= count <= 3 for count in metrics["solver_iterations"]["values"])
        assert all(residual >= 0 for residual in metrics["solver_residual"]["values"])
    assert any(not torch.equal(initial[name], straight[name]) for name in straight if initial[name].is_floating_point())


def test_spectrum_is_logged_and_leaves_the_trajectory_alone(images, tmp_path):
    settings = {"steps": 4, "log_every": 2, "eval_every": 2, "checkpoint_every": 4}
    run(images, tmp_path / "plain", **settings)
    run(images, tmp_path / "spectrum", **settings, spectrum_every=2, spectrum_k=2, spectrum_tol=0.01)
    plain, spectrum = final_parameters(tmp_path / "plain" / "1"), final_parameters(tmp_path / "spectrum" / "1")
    for name in plain:  # parameters and BatchNorm statistics
        assert torch.equal(plain[name], spectrum[name]), name
    metrics = json.loads((tmp_path / "spectrum" / "1" / "metrics.json").read_text())
    plain_metrics = json.loads((tmp_path / "plain" / "1" / "metrics.json").read_text())
    assert metrics["loss_d"]["values"] == plain_metrics["loss_d"]["values"]
    assert metrics["recon_mse"]["values"] == plain_metrics["recon_mse"]["values"]
    for name in ("eig_max_abs", "eig_max_real", "eig_min_real", "eig_rotation", "eig_max_imag", "eig_real_1",
                 "eig_imag_1", "eig_li_real_1", "eig_li_imag_1"):
        assert metrics[name]["steps"] == [2, 4], name
    eigenvalues = np.array(metrics["eig_real_0"]["values"]) + 1j * np.array(metrics["eig_imag_0"]["values"])
    np.testing.assert_allclose(np.abs(eigenvalues), metrics["eig_max_abs"]["values"], rtol=1e-12)
    rotating = np.array([[metrics[f"eig_li_{part}_{index}"]["values"] for index in range(2)] for part in ("real", "imag")])
    np.testing.assert_allclose(np.max(np.abs(rotating[1]) / np.abs(rotating[0]), axis=0), metrics["eig_rotation"]["values"],
                               rtol=1e-12)  # the rotation is that of the largest imaginary parts (which="LI")
    # the Hamiltonian is half the squared norm of the field: both players' gradient norms
    half_squared = 0.5 * (np.square(metrics["grad_norm_d"]["values"]) + np.square(metrics["grad_norm_g"]["values"]))
    np.testing.assert_allclose(metrics["hamiltonian"]["values"], half_squared, rtol=1e-5)


def test_spectrum_time_is_kept_out_of_both_clocks(images, tmp_path, monkeypatch):
    import ali_opt.training

    computing = ali_opt.training.logged_spectrum

    def slow_spectrum(*args, **kwargs):
        time.sleep(1.0)  # sleeping costs wall time only: add CPU time too
        deadline = time.process_time() + 0.5
        while time.process_time() < deadline:
            pass
        return computing(*args, **kwargs)

    monkeypatch.setattr(ali_opt.training, "logged_spectrum", slow_spectrum)
    settings = {"steps": 4, "log_every": 2, "eval_every": 4, "checkpoint_every": 4, "spectrum_k": 2,
                "spectrum_tol": 0.01}
    finished = run(images, tmp_path, **settings, spectrum_every=2)  # two spectra: 3 s of wall, 1 s of CPU
    metrics = json.loads((tmp_path / "1" / "metrics.json").read_text())
    assert metrics["eig_max_abs"]["steps"] == [2, 4]
    assert finished.result["wall_time"] < 1.5 and finished.result["cpu_time"] < 1.0

"""The ``mnist`` named config trains from the shared MNIST subset, and its run's figures redraw."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ali_opt.plots import run_figures
from ali_opt.plots.run_figures import epochs, losses_against_epochs
from ali_opt.plots.trained_run import main as trained_run_main, whole_run
from ali_opt.records.runs import Run
from studies.train_ali import ex

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_the_named_config_sets_data_model_and_the_reproductions_optimizer():
    config = ex.run("print_config", named_configs=["mnist"], options={"--loglevel": "ERROR"}).config
    assert (config["data"]["name"], config["model"], config["batch_size"]) == ("mnist", "mnist28", 100)
    assert config["optimizer"]["name"] == "adam" and config["optimizer"]["lr"] == {"d": 1e-5, "g": 2e-4}
    assert config["optimizer"]["betas"] == [0.5, 0.999]
    assert (config["width"], config["steps"]) == (1.0, 60000)  # 100 epochs of the 60,000 official training images
    with_extra = ex.run("print_config", named_configs=["mnist", "extra_adam"], options={"--loglevel": "ERROR"}).config
    assert with_extra["optimizer"]["name"] == "extra_adam" and with_extra["optimizer"]["lr"] == {"d": 1e-5, "g": 2e-4}


def test_the_cpu_size_changes_width_length_and_step_sizes_only():
    base = ex.run("print_config", named_configs=["mnist"], options={"--loglevel": "ERROR"}).config
    cpu = ex.run("print_config", named_configs=["mnist", "mnist_cpu"], options={"--loglevel": "ERROR"}).config
    assert (cpu["width"], cpu["steps"], cpu["optimizer"]["lr"]) == (0.25, 5000, {"d": 2e-4, "g": 1e-3})
    changed = {key for key in base if base[key] != cpu[key] and key != "__doc__"}
    assert changed == {"width", "steps", "optimizer", "checkpoint_every"}
    assert {**cpu["optimizer"], "lr": None} == {**base["optimizer"], "lr": None}


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory) -> Path:
    """Four steps of the named config, at the smallest width, from ../shared/data."""
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"the shared MNIST subset is absent ({SHARED_DATA / 'mnist'})")
    output = tmp_path_factory.mktemp("mnist_runs")
    updates = {"data.root": str(SHARED_DATA), "output": str(output), "threads": 1, "width": 0.0625, "steps": 4,
               "log_every": 2, "eval_every": 4, "checkpoint_every": 4, "probe.images": 0, "diversity_samples": 0,
               "progress": False, "data.heldout": 100, "digits.samples": 0}
    finished = ex.run(named_configs=["mnist"], config_updates=updates, options={"--loglevel": "ERROR"})
    assert finished.result["steps"] == 4 and finished.result["diverged_at"] is None
    return output / str(finished._id)


def test_the_named_config_trains_a_few_steps_from_the_shared_subset(mnist_run):
    metrics = json.loads((mnist_run / "metrics.json").read_text())
    assert metrics["loss_d"]["steps"] == [2, 4] and metrics["recon_mse"]["steps"] == [4]
    assert all(np.isfinite(metrics[name]["values"]).all() for name in ("loss_d", "loss_g", "recon_mse"))
    assert 0 < metrics["recon_mse"]["values"][0] < 0.25  # pixels in [0, 1]; the untrained decoder ~ the mean image
    with Image.open(mnist_run / "samples.png") as image:  # the run's own figures: a 10x10 grid of 28x28 images
        assert image.size == (10 * 29 + 1, 10 * 29 + 1)


def test_the_trained_run_figures_redraw_from_the_run_folder(mnist_run, tmp_path, capsys):
    assert trained_run_main([str(mnist_run), "--out", str(tmp_path), "--prefix", "mnist_"]) == 0
    names = {"samples", "samples_and_real", "reconstructions", "interpolations", "losses_vs_epochs"}
    assert {path.name for path in tmp_path.iterdir()} == {f"mnist_{name}.png" for name in names}
    with Image.open(tmp_path / "mnist_reconstructions.png") as image:  # 10 originals above 10 reconstructions, x 5
        assert image.size == (10 * 29 + 1, 10 * 29 + 1)
    with Image.open(tmp_path / "mnist_interpolations.png") as image:  # 8 pairs of 10 points
        assert image.size == (10 * 29 + 1, 8 * 29 + 1)
    assert str(tmp_path / "mnist_losses_vs_epochs.png") in capsys.readouterr().out


def test_the_losses_of_a_resumed_run_start_at_the_run_it_continues(mnist_run, tmp_path):
    updates = {"data.root": str(SHARED_DATA), "output": str(tmp_path), "threads": 1, "width": 0.0625, "steps": 6,
               "log_every": 2, "eval_every": 6, "checkpoint_every": 6, "probe.images": 0, "diversity_samples": 0,
               "progress": False, "data.heldout": 100, "digits.samples": 0, "resume": str(mnist_run)}
    finished = ex.run(named_configs=["mnist"], config_updates=updates, options={"--loglevel": "ERROR"})
    continued = tmp_path / str(finished._id)
    assert whole_run(mnist_run).curve("loss_d")[0].tolist() == [2, 4]
    run = whole_run(continued)
    assert run.parts == (mnist_run, continued) and run.curve("loss_d")[0].tolist() == [2, 4, 6]


def test_a_folder_without_a_checkpoint_is_one_error_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        trained_run_main([str(tmp_path)])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no checkpoint found" in error


def test_epochs_count_images_drawn_over_the_training_set_size():
    assert np.allclose(epochs(np.array([0, 80, 200]), 100, 8000), [0, 1, 2.5])


def test_losses_are_drawn_against_epochs(tmp_path, monkeypatch):
    closed = []
    monkeypatch.setattr(run_figures.plt, "close", closed.append)  # keep the figure to read it back
    steps = np.array([10, 20, 40])
    config = {"batch_size": 100, "optimizer": {"name": "adam", "lr": {"d": 2e-4, "g": 1e-3}}}
    run = Run(tmp_path, config, "COMPLETED", None, None,
              {"loss_d": (steps, np.array([1.3, 1.2, 1.0])), "loss_g": (steps, np.array([1.4, 1.6, 2.0]))})
    path = losses_against_epochs(run, 1000, tmp_path / "losses.png")
    with Image.open(path) as image:
        assert image.size == (840, 480)  # 7 x 4 inches at 120 dpi
    axis = closed[0].axes[0]
    d, g, equilibrium = axis.get_lines()
    assert np.allclose(d.get_xdata(), [1, 2, 4]) and np.allclose(d.get_ydata(), [1.3, 1.2, 1.0])  # 100 images a step
    assert np.allclose(g.get_ydata(), [1.4, 1.6, 2.0]) and np.allclose(equilibrium.get_ydata(), 2 * np.log(2))
    assert axis.get_title() == "Losses: adam, steps D 0.0002, G 0.001"

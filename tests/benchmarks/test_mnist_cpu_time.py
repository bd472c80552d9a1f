"""The MNIST CPU-time benchmark: its arguments, its cells, and a tiny run drawn (no timing asserted)."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from ali_opt.metrics import digit_classifier
from ali_opt.metrics.digit_classifier import TrainingSettings
from benchmarks import mnist_cpu_time
from tests.helpers.runs import serial_run_cells

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_the_defaults_are_the_reproductions_comparison_at_three_step_sizes():
    args = mnist_cpu_time.parse([])
    assert (args.seeds, args.scales, args.budget_flops, args.evals) == (2, [1.0, 4.0, 16.0], 1.1e13, 6)
    assert (args.width, args.workers, args.threads, args.figure_only) == (0.25, 2, 1, False)


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "0"], "--seeds 0 is not valid; give a positive integer"),
    (["--evals", "-1"], "--evals -1 is not valid"),
    (["--scales", "1", "0"], "--scales 0 is not valid; give a number > 0"),
    (["--scales", "4", "4"], "--scales 4 4 is not valid; list each scale once"),
    (["--budget-flops", "inf"], "--budget-flops inf is not valid"),
    (["--width", "-0.5"], "--width -0.5 is not valid"),
])
def test_bad_arguments_are_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        mnist_cpu_time.parse(argv)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_cells_scale_both_step_sizes_and_share_the_budget():
    args = mnist_cpu_time.parse(["--scales", "1", "4", "--seeds", "2", "--evals", "3", "--out", "somewhere"])
    cells = mnist_cpu_time.cells(args)
    assert [cell.key for cell in cells] == [f"{name}/lr{scale}/seed{seed}" for name in ("adam", "extra_adam")
                                            for scale in (1, 4) for seed in (0, 1)]
    by_key = {cell.key: cell.config for cell in cells}
    assert by_key["adam/lr1/seed0"]["optimizer"]["lr"] == {"d": 1e-4, "g": 5e-4}
    assert by_key["extra_adam/lr4/seed1"]["optimizer"]["lr"] == pytest.approx({"d": 4e-4, "g": 2e-3})
    extra = by_key["extra_adam/lr4/seed1"]
    assert extra["optimizer"]["resample"] is True and extra["seed"] == 1
    assert "resample" not in by_key["adam/lr4/seed0"]["optimizer"]
    for config in by_key.values():
        assert (config["model"], config["batch_size"], config["data"]["name"]) == ("mnist28", 100, "mnist")
        assert config["optimizer"]["betas"] == [0.5, 0.999]  # the mnist named config's
        assert config["budget_flops"] == 1.1e13 and config["eval_points"] == [0, 0.333333, 0.666667, 1.0]
        assert config["output"] == "somewhere"


def test_a_tiny_run_draws_both_panels_against_cpu_time(tmp_path, monkeypatch, capsys, one_thread):
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"the shared MNIST subset is absent ({SHARED_DATA / 'mnist'})")
    monkeypatch.setattr(mnist_cpu_time, "run_cells", serial_run_cells)
    monkeypatch.setattr(digit_classifier, "DEFAULT_TRAINING", TrainingSettings(epochs=0.05, batch_size=64, max_shift=0))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the few-batch classifier stays out of the user's
    out = tmp_path / "runs"
    assert mnist_cpu_time.main(["--data", str(SHARED_DATA), "--out", str(out), "--seeds", "1", "--scales", "1",
                                "--budget-flops", "1e9", "--evals", "1", "--width", "0.0625"]) == 0
    printed = capsys.readouterr().out
    assert "adam x1 (G 5.0e-04, D 1.0e-04)" in printed and "extra_adam x1 (G 5.0e-04, D 1.0e-04)" in printed
    with Image.open(out / "figures" / "mnist_cpu_time.png") as image:
        assert image.size == (1800, 675)  # two 6 x 4.5 inch panels at 150 dpi
    drawn, styles = mnist_cpu_time.groups(out)
    assert [group.label for group in drawn] == ["adam x1 (G 5.0e-04, D 1.0e-04)", "extra_adam x1 (G 5.0e-04, D 1.0e-04)"]
    assert [styles[group.label]["linestyle"] for group in drawn] == ["-", "--"]
    (run,) = drawn[0].runs
    assert run.curve("recon_class_accuracy")[0][0] == 0 and len(run.curve("classifier_accuracy")[0]) == 1
    assert len(run.curve("recon_mse_mean_image")[0]) == 1  # the grey baseline is logged once, at step 0

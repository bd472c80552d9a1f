"""Reading, grouping and stitching runs; the summary table; the figures; the plot command line.

The runs are written by hand into a study folder, with values chosen so that every
number of the summary table can be worked out on paper:

    folder  optimizer                      seed  status       steps logged      recon_mse (step 50, 100)
    1       adam                           0     COMPLETED    10..100           0.08, 0.04
    2       adam                           1     COMPLETED    10..100           0.06, 0.05
    3       extra_adam resample=True       0     COMPLETED    10..100           0.07, 0.03
    4       extra_adam resample=False      0     COMPLETED    10..60, diverged at step 65: 0.10
    5       extra_adam resample=False      1     RUNNING      10..50            0.12
    6       optimistic_adam                0     FAILED       10..40            -
    7       extra_adam resample=True       1     INTERRUPTED  10..60            0.09
    8       (resumes 7 from its step-50 checkpoint)  COMPLETED  60..100          -, 0.02
    _sources: not a run

Clocks: wall_time = 0.1 s per step for adam, 0.2 for extra_adam; cpu_time twice that;
grad_evals = 1 per step for adam, 2 for extra_adam.
"""
from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ali_opt.errors import ConfigError
from ali_opt.plots.curves import clock_band, ema, seed_band
from ali_opt.records.runs import format_value, group_runs, load_runs
from ali_opt.records.comparison_summary import summarize
from ali_opt.plots.__main__ import main
from ali_opt.plots.all_figures import draw_all

ROOT = Path(__file__).resolve().parents[2]
SECONDS_PER_STEP = {"adam": 0.1, "extra_adam": 0.2, "optimistic_adam": 0.2}
GRAD_EVALS_PER_STEP = {"adam": 1, "extra_adam": 2, "optimistic_adam": 2}


def write_run(folder: Path, optimizer: dict, seed: int, status: str, log_steps, recon: dict[int, float],
              diverged_at: int | None = None, resume: str = "", loss_g: float = 1.5) -> None:
    """A run folder as a FileStorageObserver writes it, with the metrics of the table above."""
    folder.mkdir(parents=True)
    name = optimizer["name"]
    config = {"model": "cifar32", "width": 0.25, "seed": seed, "steps": 100, "resume": resume,
              "optimizer": {"lr": 1e-4, **optimizer}, "data": {"name": "cifar10", "heldout": 500}}
    finished = status == "COMPLETED"
    last = log_steps[-1] if len(log_steps) else 0
    record = {"status": status, "start_time": f"2024-01-01T00:00:{int(folder.name):02d}", "info": {},
              "result": {"steps": last, "diverged_at": diverged_at} if finished else None}
    if status == "FAILED":
        record["fail_trace"] = ["Traceback (most recent call last):\n", "RuntimeError: out of memory\n"]
    steps = list(log_steps)
    per_step = {
        "loss_g": [loss_g] * len(steps),
        "loss_d": [1.2] * len(steps),
        "loss_gap": [loss_g - 1.2] * len(steps),
        "grad_norm_g": [0.5 + step / 100 for step in steps],
        "grad_norm_d": [2.0 - step / 100 for step in steps],
        "wall_time": [SECONDS_PER_STEP[name] * step for step in steps],
        "cpu_time": [2 * SECONDS_PER_STEP[name] * step for step in steps],
        "grad_evals": [GRAD_EVALS_PER_STEP[name] * step for step in steps],
    }
    metrics = {metric: {"steps": steps, "values": values, "timestamps": [""] * len(steps)}
               for metric, values in per_step.items()}
    if recon:
        metrics["recon_mse"] = {"steps": list(recon), "values": list(recon.values()), "timestamps": [""] * len(recon)}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "run.json").write_text(json.dumps(record))
    if steps:
        (folder / "metrics.json").write_text(json.dumps(metrics))


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    folder = root / "study"
    adam, extra = {"name": "adam"}, {"name": "extra_adam", "resample": True}
    no_resample = {"name": "extra_adam", "resample": False, "lr": {"d": 1e-4, "g": 1e-4}}
    write_run(folder / "1", adam, 0, "COMPLETED", range(10, 101, 10), {50: 0.08, 100: 0.04})
    write_run(folder / "2", adam, 1, "COMPLETED", range(10, 101, 10), {50: 0.06, 100: 0.05})
    write_run(folder / "3", extra, 0, "COMPLETED", range(10, 101, 10), {50: 0.07, 100: 0.03})
    write_run(folder / "4", no_resample, 0, "COMPLETED", range(10, 61, 10), {50: 0.10}, diverged_at=65)
    write_run(folder / "5", no_resample, 1, "RUNNING", range(10, 51, 10), {50: 0.12})
    write_run(folder / "6", {"name": "optimistic_adam"}, 0, "FAILED", range(10, 41, 10), {})
    write_run(folder / "7", extra, 1, "INTERRUPTED", range(10, 61, 10), {50: 0.09}, loss_g=1.0)
    write_run(folder / "8", extra, 1, "COMPLETED", range(60, 101, 10), {100: 0.02}, resume="study/7", loss_g=2.0)
    (folder / "_sources").mkdir()
    return folder


@pytest.fixture(scope="module")
def groups(study):
    return group_runs(load_runs([study])[0])


def test_skips_non_runs_and_failed_runs_with_reasons(study):
    runs, skipped = load_runs([study])
    reasons = {folder.name: reason for folder, reason in skipped}
    assert set(reasons) == {"_sources", "6"}
    assert "no run.json" in reasons["_sources"]
    assert "FAILED at step 40" in reasons["6"] and "out of memory" in reasons["6"]
    assert sorted(run.folder.name for run in runs) == ["1", "2", "3", "4", "5", "7"]


def test_groups_seeds_under_labels_naming_what_differs(groups):
    assert [(group.label, [run.seed for run in group.runs]) for group in groups] == [
        ("adam", [0, 1]), ("extra_adam resample=False", [0, 1]), ("extra_adam resample=True", [0, 1])]


def test_groups_by_named_keys(study):
    runs, _ = load_runs([study / "1", study / "4", study / "5"])
    assert [group.label for group in group_runs(runs, ["optimizer.lr.g", "width"])] == [
        "adam lr.g=0.0001 width=0.25", "extra_adam lr.g=0.0001 width=0.25"]
    with pytest.raises(ConfigError, match="'optimizer.rate' is in no run's config; valid keys: .*optimizer.lr"):
        group_runs(runs, ["optimizer.rate"])


def test_formats_config_values_compactly():
    assert format_value({"d": 1e-4, "g": 1e-4}) == "0.0001"
    assert format_value({"d": 1e-4, "g": 5e-4}) == "d:0.0001/g:0.0005"
    assert format_value([0.5, 0.999]) == "0.5,0.999"


def test_resumed_run_is_appended_to_the_run_it_continues(groups):
    stitched = groups[2].runs[1]
    assert [part.name for part in stitched.parts] == ["7", "8"]
    assert stitched.status == "COMPLETED"
    steps, loss_g = stitched.curve("loss_g")
    assert steps.tolist() == list(range(10, 101, 10))
    assert loss_g.tolist() == [1.0] * 5 + [2.0] * 5  # step 60 is the resumed run's, logged after the reload
    assert stitched.curve("recon_mse")[0].tolist() == [50, 100]


def test_a_run_resumed_twice_keeps_the_continuation_that_got_furthest(tmp_path):
    """A continuation killed before its first checkpoint is resumed again from the same run:
    the later, completed continuation is the one stitched on, even though it started last."""
    extra = {"name": "extra_adam", "resample": True}
    write_run(tmp_path / "1", extra, 0, "INTERRUPTED", range(10, 61, 10), {50: 0.09})
    write_run(tmp_path / "2", extra, 0, "RUNNING", range(60, 71, 10), {}, resume=str(tmp_path / "1"))
    write_run(tmp_path / "3", extra, 0, "COMPLETED", range(60, 101, 10), {100: 0.02}, resume=str(tmp_path / "1"))
    runs, skipped = load_runs([tmp_path])
    (run,) = runs
    assert [part.name for part in run.parts] == ["1", "3"] and run.status == "COMPLETED"
    assert [(folder.name, "continues further" in reason) for folder, reason in skipped] == [("2", True)]


def test_diverged_and_running_runs_keep_their_partial_curves(groups):
    diverged, running = groups[1].runs
    assert diverged.diverged_at == 65 and diverged.last_step() == 60
    assert running.status == "RUNNING" and running.result is None and running.last_step() == 50


def test_summary_numbers(groups):
    rows, target = summarize(groups)
    assert target == pytest.approx(0.11)  # the worst group's best MSE: (0.10 + 0.12) / 2
    adam, no_resample, resample = rows
    assert adam["seeds"] == 2
    assert adam["final_mse"] == pytest.approx(0.045) and adam["best_mse"] == pytest.approx(0.045)
    assert adam["time_to_target_s"] == pytest.approx(5.0) and adam["reached_target"] == "2/2"  # step 50 at 0.1 s
    assert adam["steps_per_s"] == pytest.approx(10.0) and adam["grad_evals"] == pytest.approx(100)
    assert adam["diverged"] == 0
    assert no_resample["final_mse"] == pytest.approx(0.11) and no_resample["diverged"] == 1
    assert no_resample["time_to_target_s"] == pytest.approx(10.0) and no_resample["reached_target"] == "1/2"
    assert no_resample["grad_evals"] == pytest.approx(110)  # steps 60 and 50, 2 per step
    assert resample["final_mse"] == pytest.approx(0.025) and resample["best_mse"] == pytest.approx(0.025)
    assert resample["steps_per_s"] == pytest.approx(5.0) and resample["grad_evals"] == pytest.approx(200)


def test_summary_with_a_target_no_group_reaches(groups):
    rows, target = summarize(groups, target_mse=0.01)
    assert target == 0.01
    assert all(math.isnan(row["time_to_target_s"]) and row["reached_target"] == "0/2" for row in rows)


def test_clock_is_interpolated_at_evaluation_steps(groups):
    run = groups[0].runs[0]
    assert run.clock_at(np.array([0, 5, 25, 100])).tolist() == pytest.approx([0.0, 0.5, 2.5, 10.0])


def test_seed_band_counts_only_seeds_covering_each_point():
    grid, mean, low, high = seed_band([(np.array([0.0, 10.0]), np.array([1.0, 1.0])),
                                       (np.array([0.0, 5.0]), np.array([3.0, 3.0]))])
    assert mean[0] == 2.0 and low[0] == 1.0 and high[0] == 3.0
    assert mean[-1] == 1.0 and grid[-1] == 10.0


class ClockedRun:
    """What clock_band reads of a run: a metric's curve and the clock at its steps."""

    def __init__(self, steps, values, seconds_per_step):
        self.steps, self.values, self.rate = np.array(steps), np.array(values, dtype=float), seconds_per_step

    def curve(self, metric):
        return self.steps, self.values

    def clock_at(self, steps, clock):
        return np.asarray(steps, dtype=float) * self.rate


def test_clock_band_averages_seeds_evaluation_by_evaluation_at_their_mean_clock():
    # Two seeds evaluated at the same steps, one clock 10% slower: the curve ends at the mean of
    # the final values (4.0), at the mean final clock, not on the slower seed alone.
    x, mean, low, high = clock_band([ClockedRun([0, 10, 20], [1, 2, 3], 1.0),
                                     ClockedRun([0, 10, 20], [3, 4, 5], 1.1)], "m", "cpu_time")
    assert x.tolist() == pytest.approx([0.0, 10.5, 21.0])
    assert (mean.tolist(), low.tolist(), high.tolist()) == ([2.0, 3.0, 4.0], [1.0, 2.0, 3.0], [3.0, 4.0, 5.0])


def test_clock_band_falls_back_to_the_covering_seeds_when_steps_differ():
    x, mean, _, _ = clock_band([ClockedRun([0, 10], [1, 1], 1.0), ClockedRun([0, 5], [3, 3], 1.0)], "m", "cpu_time")
    assert mean[0] == 2.0 and mean[-1] == 1.0 and x[-1] == 10.0


def test_ema_is_bias_corrected():
    assert ema(np.array([2.0, 2.0, 2.0]), 0.9).tolist() == pytest.approx([2.0, 2.0, 2.0])


def test_draw_all_writes_every_figure_and_table(groups, tmp_path):
    written = draw_all(groups, tmp_path, pdf=True, smooth=0.5)
    names = {path.name for path in written}
    assert names == {"recon_vs_time.png", "recon_vs_time.pdf", "stability.png", "stability.pdf", "grad_norms.png",
                     "grad_norms.pdf", "summary.md", "summary.csv"}
    assert all(path.stat().st_size > 1000 or path.suffix in (".md", ".csv") for path in written)
    table = list(csv.DictReader((tmp_path / "summary.csv").open()))
    assert [row["group"] for row in table] == ["adam", "extra_adam resample=False", "extra_adam resample=True"]
    assert float(table[0]["best_mse"]) == pytest.approx(0.045)
    markdown = (tmp_path / "summary.md").read_text()
    assert "| extra_adam resample=False | 2 | 0.11 | 0.11 | 10.0 | 1/2 | 1 | 5.00 | 110 |" in markdown


def test_command_line_reports_runs_skips_and_files(study, tmp_path, capsys):
    assert main([str(study), "--out", str(tmp_path / "figures")]) == 0
    printed = capsys.readouterr().out
    assert "read 6 runs in 3 groups" in printed
    assert "7 + " in printed and "diverged at step 65" in printed
    assert "_sources: not a run" in printed and "FAILED at step 40" in printed
    assert str(tmp_path / "figures" / "stability.png") in printed


@pytest.mark.parametrize("arguments, problem", [
    (["{tmp}/missing"], "does not exist"),
    (["{tmp}"], "no runs found"),
    (["{study}", "--by", "optimizer.rate"], "valid keys"),
    (["{study}", "--smooth", "1.5"], "--smooth 1.5 is not valid"),
])
def test_bad_input_is_one_line_and_exit_2(study, tmp_path, capsys, arguments, problem):
    with pytest.raises(SystemExit) as exit:
        main([argument.format(tmp=tmp_path, study=study) for argument in arguments])
    error = capsys.readouterr().err
    assert exit.value.code == 2
    assert error.count("\n") == 1 and error.startswith("python -m ali_opt.plots: error:") and problem in error


def test_module_runs_as_a_command(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ali_opt.plots", str(tmp_path / "missing")], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "does not exist" in done.stderr


@pytest.mark.parametrize("key, values", [("eps", (1e-8, 1e-6)), ("weight_decay", (0.0, 1e-4)),
                                         ("first_step", ("double", "single")), ("cgd_tol", (1e-6, 1e-3)),
                                         ("cgd_max_iter", (None, 5)), ("gamma", (10.0, 1.0))])
def test_runs_differing_in_any_optimizer_option_are_not_seeds_of_one_group(key, values):
    """The distinguishing keys come from the optimizer defaults: runs that differ in any optimizer
    option (here eps, weight_decay, first_step, cgd_tol, cgd_max_iter, gamma) are told apart, and
    so will be runs that differ in an option added later."""
    from ali_opt.records.runs import DISTINGUISHING_KEYS, Run
    from optimizers import DEFAULTS

    assert {f"optimizer.{option}" for option in DEFAULTS if option != "name"} <= set(DISTINGUISHING_KEYS)
    runs = [Run(Path(f"/runs/{index}"), {"seed": 0, "optimizer": {"name": "cgd", key: value}}, "COMPLETED", {},
                None, {}) for index, value in enumerate(values)]
    groups = group_runs(runs)
    assert len(groups) == 2 and all(len(group.runs) == 1 for group in groups)
    assert all(key in group.label for group in groups)


def test_a_run_missing_an_option_reads_its_own_optimizers_default(tmp_path, monkeypatch):
    """An option whose default depends on the optimizer ("default" in optimizers.DEFAULTS): a run
    recorded without it reads its own optimizer's default, so it is a seed of one group with a run
    that gave that value; a name no longer registered keeps DEFAULTS' value."""
    from ali_opt.records import runs as records
    from optimizers import defaults_for

    monkeypatch.setattr(records, "OPTIMIZER_DEFAULTS", {**records.OPTIMIZER_DEFAULTS, "eps": "default"})
    write_run(tmp_path / "1", {"name": "adam"}, 0, "COMPLETED", [10], {10: 0.1})
    write_run(tmp_path / "2", {"name": "adam", "eps": 1e-8}, 1, "COMPLETED", [10], {10: 0.1})
    runs, _ = load_runs([tmp_path])
    assert runs[0].config["optimizer"]["eps"] == defaults_for("adam")["eps"] == 1e-8
    assert runs[0].config["optimizer"]["betas"] == [0.9, 0.999]  # a list, as JSON holds it in a recorded run
    assert [(group.label, len(group.runs)) for group in group_runs(runs)] == [("adam", 2)]
    assert records.optimizer_defaults("a_retired_scheme")["eps"] == "default"


def test_spectrum_figure_reads_both_eigenvalue_sets(tmp_path):
    """A run logging the LM set (eig_real_<i>, eig_imag_<i>) and the LI set (eig_li_real_<i>, eig_li_imag_<i>):
    each set is read back as (steps, eigenvalues) in logging order, and spectrum.png is drawn with both;
    a run that logged no spectrum draws nothing."""
    from ali_opt.plots.spectrum import logged_eigenvalues, spectra
    from tests.helpers.synthetic_runs import synthetic_run
    curves = {"eig_real_0": [10.0, 20.0], "eig_imag_0": [0.0, 0.5], "eig_real_1": [-3.0, -4.0], "eig_imag_1": [0.0, 0.0],
              "eig_li_real_0": [0.1, 0.2], "eig_li_imag_0": [2.0, 3.0]}
    run = synthetic_run("adam", 1, 0, curves)
    steps, values = logged_eigenvalues(run)
    assert steps.tolist() == [0, 10, 0, 10] and values.tolist() == [10, 20 + 0.5j, -3, -4]
    steps, values = logged_eigenvalues(run, "eig_li")
    assert steps.tolist() == [0, 10] and values.tolist() == [0.1 + 2j, 0.2 + 3j]
    written = spectra(group_runs([run]), tmp_path / "spectrum")
    assert written == [tmp_path / "spectrum.png"] and written[0].stat().st_size > 1000
    assert spectra(group_runs([synthetic_run("adam", 1, 0, {"kid": [0.5, 0.4]})]), tmp_path / "none") == []

"""Mode coverage on hand-made points; the mixture study end to end on a few steps; its bad input."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ali_opt.data.mixtures import mixture_centers, mixture_std, sample_mixture
from ali_opt.errors import ConfigError
from ali_opt.metrics.mode_coverage import high_quality_fraction, modes_by_responsibility, modes_covered
from studies.ali_mixture import ex

ROOT = Path(__file__).resolve().parents[2]

CENTERS = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
"""Two modes of standard deviation 1: a point counts for a mode within distance 3 of it."""

POINTS = torch.tensor([
    [0.0, 0.0],  # mode 0, on its center
    [3.0, 0.0],  # mode 0, exactly 3 std away
    [0.0, -2.9],  # mode 0
    [10.0, 0.0],  # mode 1
    [13.01, 0.0],  # just beyond 3 std of mode 1
    [5.0, 0.0],  # between the modes, near neither
    [math.nan, math.nan],  # a diverged sample
    [math.inf, 0.0],
])


@pytest.mark.parametrize("min_fraction, covered", [
    (0.1, 2),  # needs max(0.1 * 8 / 2, 1) = 1 sample
    (0.75, 1),  # needs 3: mode 0 only
    (1.0, 0),  # needs 4
    (0.0, 2),  # needs 1
])
def test_modes_covered_counts_points_within_three_std(min_fraction, covered):
    count, per_mode = modes_covered(POINTS, CENTERS, 1.0, min_fraction)
    assert count == covered
    assert per_mode.tolist() == [3, 1]


def test_high_quality_fraction_counts_points_near_any_mode():
    assert high_quality_fraction(POINTS, CENTERS, 1.0) == 0.5
    assert high_quality_fraction(POINTS, CENTERS, 0.5) == 2 / 8  # radius 1.5: the two centers only
    assert math.isnan(high_quality_fraction(POINTS[:0], CENTERS, 1.0))


def test_a_point_near_two_modes_counts_for_both():
    count, per_mode = modes_covered(torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 0.0], [4.0, 0.0]]), 1.0)
    assert (count, per_mode.tolist()) == (2, [1, 1])


def test_no_samples_cover_no_mode():
    count, per_mode = modes_covered(POINTS[:0], CENTERS, 1.0, min_fraction=0.0)
    assert (count, per_mode.tolist()) == (0, [0, 0])


@pytest.mark.parametrize("kind, modes", [("ring", 8), ("grid", 25)])
def test_the_data_itself_covers_every_mode_and_one_mode_covers_one(kind, modes):
    data = sample_mixture(kind, 2000, torch.Generator().manual_seed(0))
    centers, std = mixture_centers(kind), mixture_std(kind)
    assert modes_covered(data, centers, std)[0] == modes
    assert high_quality_fraction(data, centers, std) > 0.97  # 1 - exp(-9/2) = 0.989 of a 2-D Gaussian
    one_mode = centers[3] + std * torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
    assert modes_covered(one_mode, centers, std)[0] == 1


def tiny(output: Path, **updates) -> dict:
    return {"steps": 12, "batch_size": 32, "log_every": 4, "eval_every": 6, "checkpoint_every": 6,
            "data": {"heldout": 40}, "output": str(output), "progress": False, **updates}


def test_comparison_trains_each_optimizer_and_draws_the_figures(tmp_path):
    comparison = [{"name": "adam"}, {"name": "extragradient", "lr": {"d": 1e-2, "g": 1e-2}}]
    finished = ex.run(config_updates=tiny(tmp_path, comparison=comparison), options={"--loglevel": "ERROR"})
    runs = finished.result["runs"]
    assert [(run["optimizer"], run["run"], run["steps"]) for run in runs] == [("adam", "1", 12), ("extragradient", "2", 12)]
    assert all(0 <= run["modes_covered"] <= 8 and 0 <= run["high_quality"] <= 1 for run in runs)
    figures = {"mixture.png", "recon_vs_time.png", "stability.png", "grad_norms.png", "summary.md", "summary.csv"}
    assert {Path(path).name for path in finished.result["figures"]} == figures
    assert figures <= {path.name for path in (tmp_path / "figures").iterdir()}
    assert (tmp_path / "comparisons" / "1" / "mixture.png").is_file()


def test_one_optimizer_is_one_run_with_its_figure(tmp_path):
    updates = tiny(tmp_path, optimizer={"name": "extra_adam"}, data={"name": "grid", "heldout": 40})
    finished = ex.run(config_updates=updates, options={"--loglevel": "ERROR"})
    assert 0 <= finished.result["modes_covered"] <= 25
    assert {"checkpoint.pt", "mixture.png"} <= {path.name for path in (tmp_path / "1").iterdir()}


@pytest.mark.parametrize("updates, message", [
    ({"data": {"name": "cifar10"}}, "data.name='cifar10' is not valid; choose one of: ring, grid"),
    ({"model": "cifar32"}, "model='cifar32' is not valid; choose one of: mlp, mixture_paper, mixture_grid25"),
    ({"members": 3, "optimizer": {"name": "adam", "lr": [1e-3, 1e-3]}},
     "optimizer.lr=[0.001, 0.001] is not valid with members=3"),
    ({"benchmark": "grid9"}, "benchmark='grid9' is not valid; choose one of: , grid25, grid25_cpu"),
    ({"members": 2, "comparison": [{"name": "adam", "instance_noise": {"std": 0.1, "anneal": "constant"}}]},
     "instance_noise={'std': 0.1, 'anneal': 'constant'} is not valid with members=2"),
    ({"comparison": [{"lr": 1e-3}]}, "comparison[0]={'lr': 0.001} is not valid"),
    ({"comparison": [{"name": "adam", "lr": -1}]}, "optimizer.lr=-1 is not valid"),
    ({"output": ""}, 'output="" is not valid for a comparison'),
])
def test_bad_config_raises_one_config_error(tmp_path, updates, message):
    with pytest.raises(ConfigError, match="^" + message.replace("[", r"\[").replace("(", r"\(")):
        ex.run(config_updates={"output": str(tmp_path / "runs"), **updates}, options={"--loglevel": "ERROR"})
    assert not (tmp_path / "runs").exists()


def test_bad_config_on_the_command_line_is_one_line(tmp_path):
    output = tmp_path / "runs"
    finished = subprocess.run([sys.executable, "-m", "studies.ali_mixture", "with", "data.name=svhn", f"output={output}"],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert finished.returncode != 0
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith("data.name='svhn' is not valid; choose one of: ring, grid")
    assert not output.exists()


def test_paper_count_assigns_each_sample_to_its_nearest_mode():
    """The ALI paper's count: every finite sample goes to its nearest center, however far; one sample covers a mode."""
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    count, per_mode = modes_by_responsibility(POINTS, centers)
    # mode 0: (0, 0), (3, 0), (0, -2.9) and (5, 0) (equidistant from modes 0 and 1: the first wins);
    # mode 1: (10, 0) and (13.01, 0); the NaN and infinite samples go nowhere
    assert per_mode.tolist() == [4, 2, 0] and count == 2
    far_away = torch.tensor([[100.0, 100.0]])  # learned nothing, still covers the mode it is nearest to
    assert modes_by_responsibility(far_away, centers)[0] == 1


def study_config(output: Path, **updates) -> dict:
    """The study's config as Sacred fills it (checked, nothing trained)."""
    return ex.run("print_config", config_updates={"output": str(output), **updates},
                  options={"--loglevel": "ERROR"}).config


def test_grid25_has_the_authors_optimizer_batch_dropout_and_length(tmp_path):
    """The authors' experiments/ali_mixture.py (IshmaelBelghazi/ALI at a7d4235, the 25-Gaussian version):
    Blocks' Adam(learning_rate=1e-4, beta1=0.8) for both players, whose beta1 is one minus torch's (Blocks
    of 2016; its default beta2=0.001 is torch's 0.999), batch 100, no dropout, 200 epochs of 100,000
    points, and the script's networks (mixture_grid25). The CPU-sized setting that produced the docs' table
    (the May 2016 networks) is another named config."""
    from ali_opt.models import build_models
    from ali_opt.sweeps.comparison import training_config
    config = study_config(tmp_path, benchmark="grid25")
    assert config["optimizer"]["lr"] == {"d": 1e-4, "g": 1e-4}
    assert tuple(config["optimizer"]["betas"]) == (0.2, 0.999) and config["optimizer"]["eps"] == 1e-8
    assert config["batch_size"] == 100 and config["dropout"] is False
    assert config["steps"] == 200 * 100_000 // 100 and config["members"] == 10
    adam_entries = [entry for entry in config["comparison"] if entry["name"].endswith("adam")]
    assert len(adam_entries) == 5
    for entry in adam_entries:
        optimizer = training_config(config, entry, 0)["optimizer"]
        assert optimizer["lr"] == {"d": 1e-4, "g": 1e-4} and tuple(optimizer["betas"]) == (0.2, 0.999)
    assert config["model"] == "mixture_grid25" and config["width"] == 1.0  # the script's own networks
    models = build_models("mixture_paper", width=0.02, dropout=False)  # dropout=False switches every layer off
    rates = [module.p for module in models.discriminator.modules() if isinstance(module, torch.nn.Dropout)]
    assert rates and all(rate == 0 for rate in rates)
    assert study_config(tmp_path, benchmark="grid25", steps=1000)["steps"] == 1000  # still changeable
    cpu = study_config(tmp_path, benchmark="grid25_cpu")
    assert cpu["optimizer"]["lr"] == {"d": 1e-3, "g": 1e-3} and tuple(cpu["optimizer"]["betas"]) == (0.5, 0.999)
    assert cpu["dropout"] is True and (cpu["width"], cpu["steps"], cpu["batch_size"]) == (0.25, 1500, 100)
    assert cpu["model"] == "mixture_paper"


def ensemble_study(output: Path, **updates) -> dict:
    config = {"model": "mixture_paper", "width": 0.02, "members": 2, "steps": 4, "batch_size": 16, "log_every": 2,
              "checkpoint_every": 2, "data": {"name": "grid", "heldout": 40}, "output": str(output),
              "progress": False,
              "comparison": [{"name": "adam"}, {"name": "extragradient", "lr": {"d": 1e-2, "g": 1e-2}}]}
    return ex.run(config_updates={**config, **updates}, options={"--loglevel": "ERROR"})


def test_ensemble_comparison_writes_the_table_and_resumes_bit_for_bit(tmp_path):
    """members=2 on the paper's networks (batch norm, dropout): the table beside the paper's rows; 4 steps
    then a resume to 6 give the parameters, buffers and batch generators of 6 straight steps."""
    straight = ensemble_study(tmp_path / "straight", steps=6)
    rows = straight.result["rows"]
    assert [row["optimizer"] for row in rows] == ["adam", "extragradient"]
    assert all(len(row["paper_modes"]["values"]) == 2 and 1 <= row["paper_modes"]["min"] <= 25 for row in rows)
    assert rows[1]["grad_evals_per_member"] == [12, 12]  # extragradient: 2 evaluations a step, 6 steps, each member
    folder = tmp_path / "straight" / "comparisons" / "1"
    table = (folder / "modes_table.md").read_text()
    assert "| ALI (paper) | 13.4 ± 5.8 | 8 | 25 |" in table and "| extragradient |" in table
    assert table.startswith("Setting: benchmark=(none); optimizer lr {'d': 0.001, 'g': 0.001}, betas [0.5, 0.999]")
    assert {"ensemble_curves.png", "mixture_median_members.png"} <= {path.name for path in folder.iterdir()}
    ensemble_study(tmp_path / "split")
    ensemble_study(tmp_path / "split", steps=6, resume_ensembles=str(tmp_path / "split" / "comparisons" / "1"))
    for label in ("adam", "extragradient"):
        expected = torch.load(folder / f"{label}.checkpoint.pt", weights_only=True)
        found = torch.load(tmp_path / "split" / "comparisons" / "2" / f"{label}.checkpoint.pt", weights_only=True)
        assert found["training"] == expected["training"] and found["training"]["steps_done"] == 6
        for key, value in expected["game"].items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(found["game"][key], value), key
        generators = zip(found["game"]["_extra_state"]["batch_generators"],
                         expected["game"]["_extra_state"]["batch_generators"])
        assert all(torch.equal(a, b) for a, b in generators)

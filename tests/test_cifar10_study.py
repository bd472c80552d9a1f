"""The main study: a comparison trains one run per entry and seed, then draws the figures."""
from __future__ import annotations

import json

import pytest

from ali_opt.errors import ConfigError
from studies.extragradient_cifar10 import ex
from tests.conftest import tiny_config


def study(images, folder, **updates):
    config = {**tiny_config(images, folder, steps=10), **updates}
    return ex.run(config_updates=config, options={"--loglevel": "ERROR"})


def test_comparison_trains_each_entry_and_seed_then_draws(images, tmp_path):
    finished = study(images, tmp_path, seeds=2, comparison=[{"name": "adam"}, {"name": "extra_adam", "resample": False}])
    runs = finished.result["runs"]
    assert [(r["optimizer"], r["seed"]) for r in runs] == [("adam", 0), ("adam", 1), ("extra_adam", 0), ("extra_adam", 1)]
    assert [r["grad_evals"] for r in runs] == [10, 10, 20, 20]
    for outcome in runs:
        config = json.loads((tmp_path / outcome["run"] / "config.json").read_text())
        assert config["optimizer"]["lr"] == {"d": 1e-4, "g": 5e-4}
        assert config["seed"] == outcome["seed"]
    written = {name.rsplit("/", 1)[-1] for name in finished.result["figures"]}
    assert {"recon_vs_time.png", "stability.png", "grad_norms.png", "summary.md", "summary.csv"} <= written
    summary = (tmp_path / "figures" / "summary.md").read_text()
    assert "adam" in summary and "extra_adam" in summary
    assert (tmp_path / "comparisons" / "1" / "run.json").exists()


def test_a_chosen_optimizer_trains_one_run(images, tmp_path):
    finished = study(images, tmp_path, optimizer={"name": "optimistic_adam"})
    assert finished.result["grad_evals"] == 10
    assert json.loads((tmp_path / "1" / "config.json").read_text())["optimizer"]["name"] == "optimistic_adam"
    assert not (tmp_path / "comparisons").exists()


@pytest.mark.parametrize("updates, message", [
    ({"comparison": [{"lr": 0.1}]}, "comparison[0]={'lr': 0.1} is not valid"),
    ({"comparison": [{"name": "sgd"}]}, "optimizer.name='sgd' is not valid"),
    ({"seeds": 0}, "seeds=0 is not valid"),
    ({"output": ""}, 'output="" is not valid for a comparison'),
])
def test_bad_study_config_is_refused_before_any_run(images, tmp_path, updates, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        study(images, tmp_path / "runs", **updates)
    assert not (tmp_path / "runs").exists()


def test_a_comparison_given_file_storage_flag_records_every_run_there(images, tmp_path):
    """-F DIR is output=DIR: the comparison in DIR/comparisons, each of its runs in DIR with its checkpoint."""
    config = tiny_config(images, tmp_path / "unused", steps=2)
    del config["output"]
    flagged = tmp_path / "flagged"
    finished = ex.run(config_updates={**config, "comparison": [{"name": "adam"}]},
                      options={"--file_storage": str(flagged), "--loglevel": "ERROR"})
    (outcome,) = finished.result["runs"]
    assert (flagged / outcome["run"] / "checkpoint.pt").exists()
    assert (flagged / "comparisons" / "1" / "run.json").exists()
    assert not (tmp_path / "unused").exists()

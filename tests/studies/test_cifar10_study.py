"""The main study with a chosen optimizer (one run), and its bad input (the sweep: test_sweep_study.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ali_opt.errors import ConfigError
from studies import extragradient_cifar10 as study_module
from studies.extragradient_cifar10 import ex
from tests.helpers.configs import study_config
from tests.helpers.runs import serial_run_cells


def study(images, folder, **updates):
    config = {**study_config(images, folder, steps=10), "primary": "recon_mse", **updates}
    config["data"] = {**config["data"], "validation": 16}
    return ex.run(config_updates=config, options={"--loglevel": "ERROR"})


def test_a_chosen_optimizer_trains_one_run(images, tmp_path):
    finished = study(images, tmp_path, optimizer={"name": "optimistic_adam"})
    assert finished.result["grad_evals"] == 10
    assert json.loads((tmp_path / "1" / "config.json").read_text())["optimizer"]["name"] == "optimistic_adam"
    assert not (tmp_path / "comparisons").exists()


@pytest.mark.parametrize("updates, message", [
    ({"comparison": [{"lr": 0.1}]}, "comparison[0]={'lr': 0.1} is not valid"),
    ({"comparison": [{"name": "sgd"}]}, "optimizer.name='sgd' is not valid"),
    ({"selection_seeds": 0}, "selection_seeds=0 is not valid"),
    ({"output": ""}, 'output="" is not valid for a sweep'),
])
def test_bad_study_config_is_refused_before_any_run(images, tmp_path, updates, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        study(images, tmp_path / "runs", **updates)
    assert not (tmp_path / "runs").exists()


def test_a_sweep_given_file_storage_flag_records_every_run_there(images, tmp_path, monkeypatch):
    """-F DIR is output=DIR: the sweep in DIR/comparisons, each of its runs in DIR with its checkpoint."""
    monkeypatch.setattr(study_module, "run_cells", serial_run_cells)
    config = study_config(images, tmp_path / "unused", steps=2)
    del config["output"]
    config["data"] = {**config["data"], "validation": 16}
    flagged = tmp_path / "flagged"
    finished = ex.run(config_updates={**config, "comparison": [{"name": "adam"}], "lr_scales": [1],
                                      "selection_seeds": 1, "confirmation_seeds": 2, "bracketing": False,
                                      "primary": "recon_mse", "budget_grad_evals": 2, "budget_flops": 0,
                                      "workers": 1},
                      options={"--file_storage": str(flagged), "--loglevel": "ERROR"})
    assert len(finished.result["cells"]) == 1 + 2
    for cell in finished.result["cells"]:
        assert (Path(cell["folders"][0]) / "checkpoint.pt").exists() and Path(cell["folders"][0]).parent == flagged
    assert (flagged / "comparisons" / "1" / "run.json").exists()
    assert not (tmp_path / "unused").exists()

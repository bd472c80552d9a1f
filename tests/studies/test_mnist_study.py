"""The step-size study on MNIST: ``python -m studies.extragradient_cifar10 with mnist``."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ali_opt.errors import ConfigError
from ali_opt.metrics import digit_classifier
from ali_opt.metrics.digit_classifier import TrainingSettings
from studies import extragradient_cifar10 as study
from studies import train_ali
from tests.helpers.runs import serial_run_cells

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def printed(experiment, named, **updates):
    return experiment.run("print_config", named_configs=named, config_updates=updates,
                          options={"--loglevel": "ERROR"}).config


def test_with_mnist_the_study_sweeps_mnist_at_its_own_size():
    config = printed(study.ex, ["mnist"])
    assert (config["model"], config["batch_size"], config["width"]) == ("mnist28", 100, 0.25)
    data = config["data"]
    assert (data["name"], data["heldout"], data["validation"]) == ("mnist", 1000, 1000)
    assert config["optimizer"]["name"] == ""  # the sweep, not one Adam run
    assert config["output"] == "runs/extragradient_mnist"  # not the CIFAR-10 study's cells
    assert config["optimizer"]["lr"] == {"d": 1e-4, "g": 5e-4} and config["optimizer"]["betas"] == [0.5, 0.999]
    assert [entry["name"] for entry in config["comparison"]] == ["adam", "alt_adam", "extra_adam"]
    assert config["comparison"][2]["resample"] is True
    assert (config["primary"], config["select_by"]) == ("class_fid", "class_fid_valid")
    assert config["sample_quality"]["samples"] == 0 and config["probe"]["images"] == 0
    assert config["digits"] == {"samples": 1000, "images": 1000}
    assert (config["budget_flops"], config["lr_scales"], config["eval_points"]) == (1.3e12, [1, 4], [0, 0.5, 1.0])
    assert (config["selection_seeds"], config["confirmation_seeds"], config["bracket_rounds"]) == (2, 8, 1)


def test_the_study_mnist_takes_the_training_mnists_data_model_and_batch_and_leaves_it_alone():
    training = printed(train_ali.ex, ["mnist"])
    sweep = printed(study.ex, ["mnist"])
    for key in ("model", "batch_size"):
        assert sweep[key] == training[key]
    assert (sweep["data"]["name"], sweep["data"]["heldout"]) == ("mnist", training["data"]["heldout"])
    assert training["optimizer"]["name"] == "adam" and training["optimizer"]["lr"] == {"d": 1e-5, "g": 2e-4}
    assert training["width"] == 1.0 and "primary" not in training
    # A study without `mnist` is the CIFAR-10 study, and an optimizer's named config still picks one run.
    assert printed(study.ex, [])["data"]["name"] == "cifar10"
    one = printed(study.ex, ["mnist", "extra_adam"])
    assert one["optimizer"]["name"] == "extra_adam" and one["model"] == "mnist28"


def test_a_selection_metric_the_mnist_study_does_not_log_is_one_line_naming_those_it_does():
    with pytest.raises(ConfigError, match=r"^select_by='kid_valid' is not a validation metric this config logs; "
                                          r"valid: recon_mse_valid, class_fid_valid, class_kid_valid, class_kl_valid, "
                                          r"recon_class_accuracy_valid$"):
        printed(study.ex, ["mnist"], select_by="kid_valid")  # Inception is off on MNIST


@pytest.fixture
def quick_classifier(monkeypatch):
    """The digit classifier trained for a few batches: the measures' plumbing, not their values."""
    monkeypatch.setattr(digit_classifier, "DEFAULT_TRAINING", TrainingSettings(epochs=0.05, batch_size=64, max_shift=0))


def test_a_tiny_two_stage_study_on_the_shared_mnist_selects_on_class_fid_valid(tmp_path, monkeypatch,
                                                                              quick_classifier, one_thread):
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"the shared MNIST subset is absent ({SHARED_DATA / 'mnist'})")
    monkeypatch.setattr(study, "run_cells", serial_run_cells)
    updates = {"data.root": str(SHARED_DATA), "output": str(tmp_path), "width": 0.0625, "budget_flops": 0,
               "budget_grad_evals": 4, "comparison": [{"name": "adam"}, {"name": "extra_adam", "resample": True}],
               "lr_scales": [1], "selection_seeds": 1, "confirmation_seeds": 2, "bracketing": False,
               "noise_draws": 2, "data.heldout": 60, "data.validation": 40, "digits.samples": 30, "digits.images": 60,
               "eval_batch_size": 30, "log_every": 2, "checkpoint_every": 100, "progress": False, "workers": 1,
               "threads": 1, "sample_quality.cache": str(tmp_path / "cache")}
    finished = study.ex.run(named_configs=["mnist"], config_updates=updates, options={"--loglevel": "ERROR"})
    keys = [cell["key"] for cell in finished.result["cells"]]
    assert keys == ["selection/adam/lr1/seed0", "selection/extra_adam/lr1/seed0",
                    "confirmation/adam/lr1/seed100", "confirmation/adam/lr1/seed101",
                    "confirmation/extra_adam/lr1/seed100", "confirmation/extra_adam/lr1/seed101"]
    assert finished.result["selected_scales"] == {"adam": 1.0, "extra_adam": 1.0}
    first = Path(finished.result["cells"][0]["folders"][0])
    config = json.loads((first / "config.json").read_text())
    assert (config["model"], config["data"]["name"], config["select_by"]) == ("mnist28", "mnist", "class_fid_valid")
    metrics = json.loads((first / "metrics.json").read_text())
    assert {"class_fid", "class_fid_valid", "recon_class_accuracy_valid", "classifier_accuracy"} <= set(metrics)
    assert not {"kid", "fid"} & set(metrics)  # Inception off
    with open(tmp_path / "figures" / "summary.csv", newline="") as file:
        columns = next(csv.reader(file))
    assert columns.index("class_fid") < columns.index("recon_class_accuracy")  # the primary first, digits beside
    with open(tmp_path / "figures" / "pairwise.csv", newline="") as file:
        (pair,) = list(csv.DictReader(file))
    assert {pair["optimizer_a"], pair["optimizer_b"]} == {"adam", "extra_adam"} and pair["paired"] == "True"
    assert float(pair["equivalence_margin"]) > 0  # 10% of class_fid's untrained value to its floor

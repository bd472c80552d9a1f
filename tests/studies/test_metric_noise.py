"""A run's final networks evaluated under other prior draws: the metric's own noise."""
from __future__ import annotations

import dataclasses
import json
import math
import shutil

import pytest
import torch

from ali_opt.metrics.evaluation import SAMPLE_SEED, sample_metrics
from ali_opt.records.runs import load_runs
from ali_opt.runtime.checkpoint import load_checkpoint, save_checkpoint
from ali_opt.sweeps import metric_noise
from ali_opt.sweeps.metric_noise import NOISE_FILE, depends_on_draws, noise_table, noise_values
from ali_opt.training import build_run
from tests.helpers.runs import run
from tests.helpers.sample_quality import data, quality, write_tiny_feature_network


@pytest.fixture(scope="module")
def trained(images, tmp_path_factory):
    """One short run logging sample quality with the tiny feature network; its Run record."""
    folder = tmp_path_factory.mktemp("noise")
    network = write_tiny_feature_network(folder / "tiny.pt")
    run(images, folder / "runs", steps=10, eval_every=10, checkpoint_every=10,
        sample_quality=quality(network, folder), data=data(images))
    (record,), _ = load_runs([folder / "runs"])
    return record


def test_the_final_networks_reproduce_the_logged_value_at_the_logged_draws(trained):
    checkpoint = load_checkpoint(trained.folder, key="run")
    parts = build_run(dict(checkpoint["config"], device="cpu"))
    parts.game.load_state_dict(checkpoint["game"])
    again = sample_metrics(parts.game, parts.dataset, checkpoint["config"], SAMPLE_SEED)["kid"]
    assert again == pytest.approx(trained.last_value("kid"), rel=1e-6)


def test_other_draws_are_evaluated_stored_and_differ(trained, tmp_path, monkeypatch):
    """Ten steps on random pixels leave the decoder at the mean image whatever z is, so the
    draws are checked on a copy whose decoder weights were perturbed: there z matters."""
    folder = tmp_path / "perturbed"
    shutil.copytree(trained.folder, folder)
    checkpoint = load_checkpoint(folder, key="run")
    generator = torch.Generator().manual_seed(0)
    checkpoint["game"] = {name: value + 0.1 * torch.randn(value.shape, generator=generator)
                          if name.startswith("decoder") and name.endswith("weight") else value
                          for name, value in checkpoint["game"].items()}
    save_checkpoint(folder / "checkpoint.pt", {key: value for key, value in checkpoint.items() if key != "format"})
    perturbed = dataclasses.replace(trained, folder=folder, parts=(folder,))
    values = noise_values(perturbed, "kid", 2)
    assert len(values) == 3 and values[0] == trained.last_value("kid")  # the logged value first
    assert all(math.isfinite(value) for value in values) and values[1] != values[2]
    assert json.loads((folder / NOISE_FILE).read_text())["kid"] == values[1:]


def test_stored_draws_are_read_back_not_recomputed(trained, monkeypatch):
    first = noise_values(trained, "fid", 2)

    def no_evaluation(*args):
        raise AssertionError("evaluated again")

    monkeypatch.setattr(metric_noise, "_evaluate", no_evaluation)
    assert noise_values(trained, "fid", 2) == first
    assert noise_values(trained, "fid", 1) == first[:2]


def test_metrics_that_no_draw_changes_are_not_evaluated(trained, monkeypatch):
    monkeypatch.setattr(metric_noise, "_evaluate", lambda *args: pytest.fail("evaluated"))
    assert not depends_on_draws("recon_mse") and not depends_on_draws("recon_class_accuracy")
    assert depends_on_draws("kid") and depends_on_draws("class_fid") and depends_on_draws("coverage_valid")
    assert noise_table([trained], "recon_mse", 3, progress=False) == [[trained.last_value("recon_mse")]]

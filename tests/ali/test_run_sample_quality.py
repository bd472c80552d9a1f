"""A run's sample quality (metrics/run_sample_quality.py), logged at every evaluation from step 0:
the logged names, a run unchanged by evaluating, the step-0 baselines. A tiny TorchScript
feature network (16-d) stands in for Inception, so that runs take seconds."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ali_opt.metrics.inception import InceptionFeatures
from ali_opt.metrics.run_sample_quality import step0_baselines
from ali_opt.metrics.sample_quality import (coverage_density, feature_statistics, frechet_distance,
                                            kernel_inception_distance, precision_recall)
from tests.helpers.runs import final_parameters, run
from tests.helpers.sample_quality import (FLOOR_NAMES, SAMPLE_NAMES, VALID_NAMES, data, metrics_of, quality,
                                          tiny_dataset)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_sample_quality_is_logged_at_every_evaluation_and_leaves_the_run_unchanged(images, tmp_path, tiny_feature_network):
    on = run(images, tmp_path / "on", eval_points=[0, 0.5, 1], data=data(images), select_by="kid_valid",
             sample_quality=quality(tiny_feature_network, tmp_path))
    metrics = metrics_of(tmp_path / "on")
    for name in SAMPLE_NAMES | VALID_NAMES:
        assert metrics[name]["steps"] == [0, 10, 20], name
        assert all(np.isfinite(metrics[name]["values"])), name
    for name in ("precision", "recall", "precision_valid", "recall_valid", "coverage", "coverage_valid"):
        assert all(0 <= value <= 1 for value in metrics[name]["values"]), name
    assert all(value > 0 for value in metrics["fid"]["values"])
    for name in FLOOR_NAMES | {"recon_mse_mean_image"}:
        assert metrics[name]["steps"] == [0], name
    config = json.loads((tmp_path / "on" / "1" / "config.json").read_text())
    assert (config["select_by"], config["select_last"], config["select_rule"]) == ("kid_valid", 3, "last")
    # evaluating draws from generators of its own: the run trains exactly as one without sample quality
    off = run(images, tmp_path / "off", eval_points=[0, 0.5, 1], data=data(images))
    assert not (SAMPLE_NAMES | FLOOR_NAMES) & set(metrics_of(tmp_path / "off"))
    assert metrics_of(tmp_path / "off")["recon_mse_mean_image"]["steps"] == [0]
    a, b = final_parameters(tmp_path / "on" / "1"), final_parameters(tmp_path / "off" / "1")
    assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)
    assert on.result["best_recon_mse"] == off.result["best_recon_mse"]


def test_without_validation_only_test_metrics_are_logged(images, tmp_path, tiny_feature_network):
    run(images, tmp_path, steps=10, eval_points=[0, 1], data=data(images, validation=0),
        sample_quality=quality(tiny_feature_network, tmp_path))
    metrics = metrics_of(tmp_path)
    assert metrics["kid"]["steps"] == [0, 10] and not VALID_NAMES & set(metrics)
    assert FLOOR_NAMES <= set(metrics)


@pytest.mark.parametrize("validation", [True, False])
def test_step0_baselines_are_the_mean_image_and_training_images_against_validation(tiny_feature_network, tmp_path, validation):
    dataset = tiny_dataset(validation)
    config = {"sample_quality": quality(tiny_feature_network, tmp_path, real_images=20), "eval_batch_size": 7, "progress": False}
    baselines = step0_baselines(dataset, config)
    mean_image = dataset.train.double().mean(dim=0) / 255
    assert baselines["recon_mse_mean_image"] == pytest.approx(
        ((dataset.heldout.double() / 255 - mean_image) ** 2).mean().item(), rel=1e-6)
    features = InceptionFeatures(tiny_feature_network)
    reference = features(dataset.validation if validation else dataset.heldout)  # fewer than real_images
    train = features(dataset.train[:20])
    assert baselines["fid_floor"] == pytest.approx(
        frechet_distance(*feature_statistics(reference), *feature_statistics(train)), rel=1e-6)
    assert baselines["kid_floor"] == pytest.approx(kernel_inception_distance(reference, train, 5, 8)[0], rel=1e-9)
    assert (baselines["precision_floor"], baselines["recall_floor"]) == pytest.approx(precision_recall(reference,
                                                                                                      train))
    assert (baselines["coverage_floor"], baselines["density_floor"]) == pytest.approx(coverage_density(reference, train,
                                                                                                       k=5))

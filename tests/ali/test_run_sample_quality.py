"""Sample quality logged at every evaluation of a run, from step 0: the low-rank FID, the
logged names, the step-0 baselines and cache, and the config's one-line errors. A tiny
TorchScript feature network (16-d) stands in for Inception, so that runs take seconds."""
from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
import torch

from ali_opt.data import Dataset
from ali_opt.errors import ConfigError
from ali_opt.metrics import evaluation, feature_cache
from ali_opt.metrics.inception import InceptionFeatures, file_sha256
from ali_opt.metrics.sample_quality import (feature_reference, feature_statistics, frechet_distance,
                                            frechet_distance_to_reference, kernel_inception_distance,
                                            coverage_density, precision_recall)
from ali_opt.metrics.run_sample_quality import prepare_real_sets, step0_baselines
from ali_opt.metrics.sample_quality_config import check_sample_quality, check_selection_config
from tests.helpers.runs import final_parameters, run, train_ali_cli

SAMPLE_NAMES = {"fid", "kid", "kid_std", "precision", "recall", "coverage", "density"}
VALID_NAMES = ({f"{name}_valid" for name in ("fid", "kid", "precision", "recall", "coverage", "density")}
               | {"kid_valid_std"})
FLOOR_NAMES = {"fid_floor", "kid_floor", "precision_floor", "recall_floor", "coverage_floor", "density_floor"}


pytestmark = pytest.mark.usefixtures("one_thread")


class TinyFeatures(torch.nn.Module):
    """(N, 3, 299, 299) -> (N, 16): a 4x4 average pool and a fixed linear map."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(48, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.nn.functional.adaptive_avg_pool2d(x, 4).flatten(1))


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    path = tmp_path_factory.mktemp("network") / "tiny.pt"
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script and save, deprecated in torch 2.9+
        torch.jit.save(torch.jit.script(TinyFeatures()), str(path))
    return path


def quality(network, tmp_path, **updates) -> dict:
    settings = {"samples": 12, "network": str(network), "sha256": "", "precision": "fp32", "real_images": 16,
                "kid_subsets": 5, "kid_subset_size": 8, "k": 3, "cache": str(tmp_path / "cache")}
    return {**settings, **updates}


def data(images, validation=16) -> dict:
    return {"name": "images", "root": str(images), "heldout": 16, "validation": validation}


def metrics_of(folder) -> dict:
    return json.loads((folder / "1" / "metrics.json").read_text())


# --- the low-rank Fréchet distance ---------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [16, 64])
@pytest.mark.parametrize("real_factor, fake_factor", [(3, 3), (3, 0.5), (0.5, 3), (0.5, 0.5)])
def test_frechet_distance_to_reference_equals_the_sqrtm_route(d, real_factor, fake_factor):
    rng = np.random.default_rng(d)
    real = rng.normal(size=(int(real_factor * d), d)) @ rng.normal(size=(d, d)) + 1.0
    fake = rng.normal(size=(int(fake_factor * d), d)) @ rng.normal(size=(d, d))
    expected = frechet_distance(*feature_statistics(real), *feature_statistics(fake))
    reference = feature_reference(real)
    assert frechet_distance_to_reference(fake, reference) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance_to_reference(torch.from_numpy(fake).float(), reference) == pytest.approx(
        frechet_distance(*feature_statistics(real), *feature_statistics(fake.astype(np.float32))), rel=1e-6)
    np.testing.assert_allclose(reference.cov, feature_statistics(real)[1], atol=1e-9 * np.abs(reference.cov).max())
    assert abs(frechet_distance_to_reference(real, reference)) < 1e-6 * reference.trace_cov


# --- logged at every evaluation ------------------------------------------------------------------------------------

def test_sample_quality_is_logged_at_every_evaluation_and_leaves_the_run_unchanged(images, tmp_path, network):
    on = run(images, tmp_path / "on", eval_points=[0, 0.5, 1], data=data(images), select_by="kid_valid",
             sample_quality=quality(network, tmp_path))
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


def test_without_validation_only_test_metrics_are_logged(images, tmp_path, network):
    run(images, tmp_path, steps=10, eval_points=[0, 1], data=data(images, validation=0),
        sample_quality=quality(network, tmp_path))
    metrics = metrics_of(tmp_path)
    assert metrics["kid"]["steps"] == [0, 10] and not VALID_NAMES & set(metrics)
    assert FLOOR_NAMES <= set(metrics)


# --- the step-0 baselines ------------------------------------------------------------------------------------------

def tiny_dataset(validation: bool) -> Dataset:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (60, 3, 32, 32), dtype=torch.uint8, generator=generator)
    return Dataset("tiny", images[:30], images[30:45], images[45:] if validation else None)


@pytest.mark.parametrize("validation", [True, False])
def test_step0_baselines_are_the_mean_image_and_training_images_against_validation(network, tmp_path, validation):
    dataset = tiny_dataset(validation)
    config = {"sample_quality": quality(network, tmp_path, real_images=20), "eval_batch_size": 7, "progress": False}
    baselines = step0_baselines(dataset, config)
    mean_image = dataset.train.double().mean(dim=0) / 255
    assert baselines["recon_mse_mean_image"] == pytest.approx(
        ((dataset.heldout.double() / 255 - mean_image) ** 2).mean().item(), rel=1e-6)
    features = InceptionFeatures(network)
    reference = features(dataset.validation if validation else dataset.heldout)  # fewer than real_images
    train = features(dataset.train[:20])
    assert baselines["fid_floor"] == pytest.approx(
        frechet_distance(*feature_statistics(reference), *feature_statistics(train)), rel=1e-6)
    assert baselines["kid_floor"] == pytest.approx(kernel_inception_distance(reference, train, 5, 8)[0], rel=1e-9)
    assert (baselines["precision_floor"], baselines["recall_floor"]) == pytest.approx(precision_recall(reference,
                                                                                                      train))
    assert (baselines["coverage_floor"], baselines["density_floor"]) == pytest.approx(coverage_density(reference, train,
                                                                                                       k=5))


def test_prepare_real_sets_caches_every_real_set_once(network, tmp_path, monkeypatch):
    config = {"sample_quality": quality(network, tmp_path), "progress": False}
    prepare_real_sets(config, tiny_dataset(validation=True))
    cache = tmp_path / "cache"
    assert len(list(cache.glob("inception_*.npy"))) == 3 and len(list(cache.glob("reference_*.npz"))) == 3
    assert not list(cache.glob(".*"))  # no temporary file left behind
    # a damaged reference file is recomputed and replaced (in a fresh process: nothing in memory)
    damaged = sorted(cache.glob("reference_*.npz"))[0]
    expected = dict(np.load(damaged))
    damaged.write_bytes(b"PK garbage")
    monkeypatch.setattr(feature_cache, "_REFERENCES", {})
    prepare_real_sets(config, tiny_dataset(validation=True))
    assert all(np.array_equal(np.load(damaged)[key], value) for key, value in expected.items())
    off = {**config, "sample_quality": quality(network, tmp_path / "off", samples=0)}
    prepare_real_sets(off, tiny_dataset(validation=True))
    assert not (tmp_path / "off").exists()


def test_step0_metrics_are_cached_across_optimizers_of_one_seed(images, tmp_path, network, monkeypatch):
    computed = []
    baselines = evaluation.step0_baselines
    monkeypatch.setattr(evaluation, "step0_baselines", lambda *args: computed.append(1) or baselines(*args))
    settings = dict(steps=10, eval_points=[0, 1], data=data(images), sample_quality=quality(network, tmp_path))
    run(images, tmp_path / "adam", **settings)
    run(images, tmp_path / "extra", optimizer={"name": "extra_adam"}, **settings)
    assert len(computed) == 1  # the second run read the first one's step-0 metrics
    first, second = metrics_of(tmp_path / "adam"), metrics_of(tmp_path / "extra")
    at_zero = {name for name, logged in first.items() if logged["steps"][0] == 0} - {"wall_time", "cpu_time"}
    assert SAMPLE_NAMES | VALID_NAMES | FLOOR_NAMES <= at_zero
    for name in at_zero:
        assert second[name]["steps"][0] == 0 and second[name]["values"][0] == first[name]["values"][0], name
    assert first["recon_mse"]["values"][1] != second["recon_mse"]["values"][1]  # trained apart after step 0
    run(images, tmp_path / "seed1", seed=1, **settings)
    assert len(computed) == 2  # another seed, other initial networks: computed
    assert len(list((tmp_path / "cache" / "step0").glob("*.json"))) == 2


# --- config errors -------------------------------------------------------------------------------------------------

def checked(network, tmp_path, check=check_sample_quality, validation=16, **updates):
    config = {"sample_quality": quality(network, tmp_path), "model": "cifar32", "select_by": None, "select_last": 3,
              "select_rule": "last", "data": {"heldout": 16, "validation": validation}}
    for key, value in updates.items():
        if key in config["sample_quality"]:
            config["sample_quality"][key] = value
        else:
            config[key] = value
    check(config)


@pytest.mark.parametrize("updates, message", [
    ({"samples": -1}, "sample_quality.samples=-1 is not valid; it must be an integer >= 0 (0: off)"),
    ({"samples": 2.5}, "sample_quality.samples=2.5 is not valid"),
    ({"samples": 3}, "sample_quality.samples=3 and real_images=16 are not valid with k=3"),
    ({"real_images": 1}, "sample_quality.real_images=1 is not valid; it must be an integer >= 2"),
    ({"k": 0}, "sample_quality.k=0 is not valid; it must be a positive integer"),
    ({"kid_subsets": True}, "sample_quality.kid_subsets=True is not valid"),
    ({"precision": "fp16"}, "sample_quality.precision='fp16' is not valid; choose one of: fp32, bf16"),
    ({"sha256": "abc"}, "sample_quality.sha256='abc' is not valid; give the 64 hex digits"),
    ({"cache": None}, "sample_quality.cache=None is not valid; give a string"),
    ({"data": {"heldout": 2, "validation": 0}}, "data.heldout=2 is not valid with sample_quality.samples > 0"),
    ({"real_images": 5}, "sample_quality.samples=12 and real_images=5 are not valid with k=3; precision and recall "
                         "need more than k images of each, coverage and density more than 5 real images"),
    ({"data": {"heldout": 16, "validation": 5}}, "data.validation=5 is not valid with sample_quality.samples > 0; "
                                                 "precision and recall need more than k=3 images of it, coverage"),
])
def test_bad_sample_quality_values_are_one_line(network, tmp_path, updates, message):
    with pytest.raises(ConfigError, match="^" + re.escape(message)) as raised:
        checked(network, tmp_path, **updates)
    assert "\n" not in str(raised.value)


def test_a_missing_key_and_samples_off_are_checked_without_the_network(network, tmp_path):
    with pytest.raises(ConfigError, match="sample_quality=.* is not valid; give a dict with samples, real_images"):
        check_sample_quality({"sample_quality": {"samples": 0}})
    checked(tmp_path / "nowhere.pt", tmp_path, samples=0)  # off: the network is not looked for


@pytest.mark.parametrize("validation, samples, select_by, valid", [
    (0, 12, "kid_valid", "valid: none: set data.validation > 0"),
    (16, 0, "kid_valid", "valid: recon_mse_valid"),
    (16, 12, "kid", "valid: kid_valid, fid_valid, precision_valid, recall_valid, coverage_valid, recon_mse_valid"),
])
def test_select_by_must_be_a_validation_metric_the_config_logs(network, tmp_path, validation, samples, select_by,
                                                               valid):
    message = f"select_by={select_by!r} is not a validation metric this config logs; {valid}"
    with pytest.raises(ConfigError, match="^" + re.escape(message)) as raised:
        checked(network, tmp_path, check_selection_config, validation=validation, samples=samples, select_by=select_by)
    assert "\n" not in str(raised.value)
    checked(network, tmp_path, check_selection_config, validation=16, samples=12, select_by="recall_valid")
    checked(network, tmp_path, check_selection_config, validation=16, samples=12, select_by="coverage_valid")
    with pytest.raises(ConfigError, match="select_rule='best' is not valid; choose one of: last, auc"):
        checked(network, tmp_path, check_selection_config, select_rule="best")


@pytest.mark.parametrize("args, message", [
    (["sample_quality.samples=12", "sample_quality.network={tmp}/nowhere.pt"],
     "sample_quality.network='{tmp}/nowhere.pt' does not exist; pip install"),
    (["sample_quality.samples=12", "sample_quality.network={network}", f"sample_quality.sha256='{'0' * 64}'"],
     f"sample_quality.network='{{network}}' has SHA-256 {{sha}}, expected {'0' * 64}"),
    (["select_by=kid_valid", "data.validation=100"], "select_by='kid_valid' is not a validation metric this config "
                                                     "logs; valid: recon_mse_valid"),
])
def test_bad_sample_quality_config_is_one_line_and_creates_no_run(tmp_path, network, args, message):
    names = {"tmp": tmp_path, "network": network, "sha": file_sha256(network)}
    output = tmp_path / "runs"
    output.mkdir()
    finished = train_ali_cli("with", f"output={output}", *(arg.format(**names) for arg in args))
    assert finished.returncode != 0
    lines = [line for line in finished.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message.format(**names) in lines[0], finished.stderr
    assert not any(output.iterdir())


def test_the_network_is_loaded_once_per_process(network, tmp_path):
    config = {"sample_quality": quality(network, tmp_path), "progress": False}
    first = feature_cache.network_of(config, torch.device("cpu"))
    assert feature_cache.network_of(config, torch.device("cpu")) is first
    assert first.network_sha256 == file_sha256(network)

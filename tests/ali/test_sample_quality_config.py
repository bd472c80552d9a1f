"""The checks of ``sample_quality`` and of the selection settings (metrics/sample_quality_config.py):
one line naming the bad value and what is valid, from the check and from the command line,
before any run is created."""
from __future__ import annotations

import re

import pytest

from ali_opt.errors import ConfigError
from ali_opt.metrics.inception import file_sha256
from ali_opt.metrics.sample_quality_config import check_sample_quality, check_selection_config
from tests.helpers.runs import train_ali_cli
from tests.helpers.sample_quality import quality


def checked(tiny_feature_network, tmp_path, check=check_sample_quality, validation=16, **updates):
    config = {"sample_quality": quality(tiny_feature_network, tmp_path), "model": "cifar32", "select_by": None, "select_last": 3,
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
def test_bad_sample_quality_values_are_one_line(tiny_feature_network, tmp_path, updates, message):
    with pytest.raises(ConfigError, match="^" + re.escape(message)) as raised:
        checked(tiny_feature_network, tmp_path, **updates)
    assert "\n" not in str(raised.value)


def test_a_missing_key_and_samples_off_are_checked_without_the_network(tiny_feature_network, tmp_path):
    with pytest.raises(ConfigError, match="sample_quality=.* is not valid; give a dict with samples, real_images"):
        check_sample_quality({"sample_quality": {"samples": 0}})
    checked(tmp_path / "nowhere.pt", tmp_path, samples=0)  # off: the tiny_feature_network is not looked for


@pytest.mark.parametrize("validation, samples, select_by, valid", [
    (0, 12, "kid_valid", "valid: none: set data.validation > 0"),
    (16, 0, "kid_valid", "valid: recon_mse_valid"),
    (16, 12, "kid", "valid: kid_valid, fid_valid, precision_valid, recall_valid, coverage_valid, recon_mse_valid"),
])
def test_select_by_must_be_a_validation_metric_the_config_logs(tiny_feature_network, tmp_path, validation, samples, select_by,
                                                               valid):
    message = f"select_by={select_by!r} is not a validation metric this config logs; {valid}"
    with pytest.raises(ConfigError, match="^" + re.escape(message)) as raised:
        checked(tiny_feature_network, tmp_path, check_selection_config, validation=validation, samples=samples, select_by=select_by)
    assert "\n" not in str(raised.value)
    checked(tiny_feature_network, tmp_path, check_selection_config, validation=16, samples=12, select_by="recall_valid")
    checked(tiny_feature_network, tmp_path, check_selection_config, validation=16, samples=12, select_by="coverage_valid")
    with pytest.raises(ConfigError, match="select_rule='best' is not valid; choose one of: last, auc"):
        checked(tiny_feature_network, tmp_path, check_selection_config, select_rule="best")


@pytest.mark.parametrize("args, message", [
    (["sample_quality.samples=12", "sample_quality.network={tmp}/nowhere.pt"],
     "sample_quality.network='{tmp}/nowhere.pt' does not exist; pip install"),
    (["sample_quality.samples=12", "sample_quality.network={network}", f"sample_quality.sha256='{'0' * 64}'"],
     f"sample_quality.network='{{network}}' has SHA-256 {{sha}}, expected {'0' * 64}"),
    (["select_by=kid_valid", "data.validation=100"], "select_by='kid_valid' is not a validation metric this config "
                                                     "logs; valid: recon_mse_valid"),
])
def test_bad_sample_quality_config_is_one_line_and_creates_no_run(tmp_path, tiny_feature_network, args, message):
    names = {"tmp": tmp_path, "network": tiny_feature_network, "sha": file_sha256(tiny_feature_network)}
    output = tmp_path / "runs"
    output.mkdir()
    finished = train_ali_cli("with", f"output={output}", *(arg.format(**names) for arg in args))
    assert finished.returncode != 0
    lines = [line for line in finished.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message.format(**names) in lines[0], finished.stderr
    assert not any(output.iterdir())

"""The feature network, loaded once per process, and the real sets' features and references,
cached on disk (metrics/feature_cache.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ali_opt.metrics import feature_cache
from ali_opt.metrics.inception import file_sha256
from ali_opt.metrics.run_sample_quality import prepare_real_sets
from tests.helpers.sample_quality import quality, tiny_dataset

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_network_is_loaded_once_per_process(tiny_feature_network, tmp_path):
    config = {"sample_quality": quality(tiny_feature_network, tmp_path), "progress": False}
    first = feature_cache.network_of(config, torch.device("cpu"))
    assert feature_cache.network_of(config, torch.device("cpu")) is first
    assert first.network_sha256 == file_sha256(tiny_feature_network)


def test_prepare_real_sets_caches_every_real_set_once(tiny_feature_network, tmp_path, monkeypatch):
    config = {"sample_quality": quality(tiny_feature_network, tmp_path), "progress": False}
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
    off = {**config, "sample_quality": quality(tiny_feature_network, tmp_path / "off", samples=0)}
    prepare_real_sets(off, tiny_dataset(validation=True))
    assert not (tmp_path / "off").exists()

"""The cache of the untrained model's metrics (metrics/untrained_metrics_cache.py): runs of
one seed, whatever their optimizer, share their step-0 metrics; another seed computes its own."""
from __future__ import annotations

import pytest

from ali_opt.metrics import evaluation
from tests.helpers.runs import run
from tests.helpers.sample_quality import FLOOR_NAMES, SAMPLE_NAMES, VALID_NAMES, data, metrics_of, quality

pytestmark = pytest.mark.usefixtures("one_thread")


def test_step0_metrics_are_cached_across_optimizers_of_one_seed(images, tmp_path, tiny_feature_network, monkeypatch):
    computed = []
    baselines = evaluation.step0_baselines
    monkeypatch.setattr(evaluation, "step0_baselines", lambda *args: computed.append(1) or baselines(*args))
    settings = dict(steps=10, eval_points=[0, 1], data=data(images), sample_quality=quality(tiny_feature_network, tmp_path))
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

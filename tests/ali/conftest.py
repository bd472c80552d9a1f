"""Fixtures of the tests of ALI's training and metrics."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.sample_quality import write_tiny_feature_network


@pytest.fixture(scope="session")
def tiny_feature_network(tmp_path_factory) -> Path:
    """A TorchScript file of :class:`tests.helpers.sample_quality.TinyFeatures`: the feature
    network of the sample-quality tests, in place of Inception."""
    return write_tiny_feature_network(tmp_path_factory.mktemp("network") / "tiny.pt")

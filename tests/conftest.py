"""Fixtures shared by the tests: a tiny image dataset, a temporary cache folder, one torch thread."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch


@pytest.fixture(scope="session")
def images(tmp_path_factory) -> Path:
    """A tiny image dataset: 96 random 32x32 RGB images as an .npz file."""
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, images=np.random.default_rng(0).integers(0, 256, (96, 32, 32, 3), dtype=np.uint8))
    return path


@pytest.fixture(scope="session", autouse=True)
def flops_cache(tmp_path_factory) -> Path:
    """The FLOPs cache of every run the tests train (subprocesses included) in a temporary
    folder, never the user's ``~/.cache/ali-opt/flops.json``."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder))
        yield folder


@pytest.fixture
def one_thread():
    """torch on one thread for the test (numbers pinned in a test were computed so), then as before."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

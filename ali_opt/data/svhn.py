"""SVHN from the official ``train_32x32.mat`` and ``test_32x32.mat``, downloaded when absent."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

from ali_opt.data.download import download
from ali_opt.errors import ConfigError

BASE_URL = "http://ufldl.stanford.edu/housenumbers/"
FILES = {"train_32x32.mat": "e26dedcc434d2e4c54c9b2d4a06d8373", "test_32x32.mat": "eb5a983be6a315427106f1b164d9cef3"}
"""The files read, with their published MD5."""


def load_svhn(root: Path, *, download_missing: bool, verify_checksum: bool) -> tuple[np.ndarray, np.ndarray]:
    """Training and test images, uint8 (N, 3, 32, 32), from the two .mat files in ``root``.

    Missing files are downloaded when ``download_missing``; ``verify_checksum`` checks the
    downloads (never files already on disk).
    """
    train, test = (_read(root / name, download_missing, verify_checksum) for name in FILES)
    return train, test


def _read(path: Path, download_missing: bool, verify_checksum: bool) -> np.ndarray:
    """The images of one .mat file, whose ``X`` is uint8 (32, 32, 3, N)."""
    if not path.is_file():
        hint = f"put {' and '.join(FILES)} (from {BASE_URL}) in {path.parent}"
        if not download_missing:
            raise ConfigError(f"SVHN file {path} not found; {hint}, or pass download=True")
        download(BASE_URL + path.name, path, md5=FILES[path.name] if verify_checksum else None, manual_hint=hint)
    try:
        images = scipy.io.loadmat(path, variable_names=["X"]).get("X")
    except Exception as error:  # scipy fails on damaged files with assorted exception types
        raise ConfigError(
            f"could not read {path} ({type(error).__name__}: {error}); the file is truncated or corrupt: delete it "
            "and download it again"
        ) from None
    if not (isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 4
            and images.shape[:3] == (32, 32, 3)):
        raise ConfigError(f"{path} is not an SVHN file: it must hold 'X', a uint8 array of shape (32, 32, 3, N)")
    return np.ascontiguousarray(images.transpose(3, 2, 0, 1))

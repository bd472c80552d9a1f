"""CIFAR-10 from the "python version" folder ``cifar-10-batches-py``, downloaded when absent."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ali_opt.data.download import download, extract_tar
from ali_opt.data.restricted_pickle import load_numpy_pickle
from ali_opt.errors import ConfigError

FOLDER = "cifar-10-batches-py"
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
"""Published MD5 of the archive at :data:`URL`."""

TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"


def load_cifar10(root: Path, *, download_missing: bool,
                 verify_checksum: bool) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Training images, their labels, test images, their labels, from ``root``: the folder
    ``cifar-10-batches-py`` itself or its parent. Images uint8 (N, 3, 32, 32); labels int64
    (N,) in 0..9, or None when a batch file holds no ``labels``.

    A missing folder is downloaded and extracted into the parent when ``download_missing``;
    ``verify_checksum`` checks the download (never files already on disk).
    """
    folder = _batches_folder(root)
    if not folder.is_dir():
        hint = f"put the extracted folder at {folder} (data_batch_1 to data_batch_5, test_batch; from {URL})"
        if not download_missing:
            raise ConfigError(f"CIFAR-10 not found at {folder}; {hint}, or pass download=True")
        archive = folder.parent / Path(URL).name
        download(URL, archive, md5=MD5 if verify_checksum else None, manual_hint=hint)
        extract_tar(archive, folder.parent)
        archive.unlink()
        if not folder.is_dir():
            raise ConfigError(f"the archive from {URL} did not contain {FOLDER}; {hint}")
    train_batches = [_read_batch(folder / name) for name in TRAIN_FILES]
    test, test_labels = _read_batch(folder / TEST_FILE)
    train_labels = [labels for _, labels in train_batches]
    return (np.concatenate([images for images, _ in train_batches]),
            None if any(labels is None for labels in train_labels) else np.concatenate(train_labels),
            test, test_labels)


def _batches_folder(root: Path) -> Path:
    """``root`` when it holds the batches (whatever its name), else ``root / FOLDER``."""
    return root if root.name == FOLDER or (root / TEST_FILE).is_file() else root / FOLDER


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """The images and labels of one batch file: a dict whose ``data`` is uint8 (N, 3072), each
    row 1024 red, then 1024 green, then 1024 blue values of a row-major 32x32 image, and whose
    ``labels`` (when present) lists N class indices in 0..9."""
    if not path.is_file():
        raise ConfigError(
            f"CIFAR-10 file {path} is missing; {path.parent} must hold {', '.join(TRAIN_FILES)} and {TEST_FILE} "
            "(delete the folder to download it again)"
        )
    batch = load_numpy_pickle(path)
    data = batch.get("data", batch.get(b"data")) if isinstance(batch, dict) else None
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072):
        raise ConfigError(f"{path} is not a CIFAR-10 batch: it must hold 'data', a uint8 array of shape (N, 3072)")
    labels = batch.get("labels", batch.get(b"labels"))
    if labels is not None:
        labels = np.asarray(labels, dtype=np.int64)
        if labels.shape != (len(data),) or (len(labels) and not 0 <= labels.min() <= labels.max() <= 9):
            raise ConfigError(f"{path} is not a CIFAR-10 batch: its 'labels' must be {len(data)} classes in 0..9")
    return data.reshape(-1, 3, 32, 32), labels

"""Datasets by name: ``load_dataset(name, ...)`` returns a :class:`Dataset` held whole on a device.

- ``cifar10``: the "python version" folder ``cifar-10-batches-py`` (downloaded when absent);
- ``svhn``: the official ``train_32x32.mat`` and ``test_32x32.mat`` (downloaded when absent);
- ``images``: a folder of same-sized image files, or an .npz file holding one uint8 array;
- ``ring`` / ``grid``: 2-D mixtures of Gaussians (see :mod:`ali_opt.data.mixtures`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ali_opt.data.cifar10 import load_cifar10
from ali_opt.data.dataset import Dataset
from ali_opt.data.images import load_images
from ali_opt.data.mixtures import MIXTURES, sample_mixture
from ali_opt.data.svhn import load_svhn
from ali_opt.errors import ConfigError, check_choice

DATASETS = ("cifar10", "svhn", "images", "ring", "grid")

MIXTURE_TRAIN_SIZE = 100_000
"""Points drawn once for the training split of ``ring`` and ``grid``."""

__all__ = ["DATASETS", "Dataset", "load_dataset"]


def default_root() -> Path:
    """Where downloaded datasets go when no ``root`` is given: ``~/.cache/ali_opt``."""
    return Path.home() / ".cache" / "ali_opt"


def load_dataset(name: str, *, root: str | Path | None, heldout: int, device: torch.device | str = "cpu",
                 download: bool = True, verify_checksum: bool = True, seed: int = 0) -> Dataset:
    """Dataset ``name`` (one of :data:`DATASETS`) with ``heldout`` held-out examples, on ``device``.

    - ``root``: cifar10 and svhn: the folder holding the files (None: :func:`default_root`);
      cifar10 accepts ``cifar-10-batches-py`` itself or its parent. images: the folder or .npz
      file. Unused by ring and grid.
    - ``heldout``: examples taken from the test split when there is one (cifar10, svhn),
      else from the end of the data, which the training split then leaves out (images); ring
      and grid draw them separately. 0 is allowed.
    - ``download``: fetch cifar10 or svhn files that are missing (with a progress bar);
      ``verify_checksum``: check a download against its published MD5.
    - ``seed``: seeds the draws of ring and grid.

    Bad arguments, missing or unreadable files raise :class:`~ali_opt.errors.ConfigError`.
    """
    check_choice("dataset", name, DATASETS)
    if isinstance(heldout, bool) or not isinstance(heldout, int) or heldout < 0:
        raise ConfigError(f"heldout={heldout!r} is not valid; it must be an integer >= 0")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"seed={seed!r} is not valid; it must be an integer")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device={device!r} is not valid; give e.g. 'cpu' or 'cuda'") from None
    if name in MIXTURES:
        generator = torch.Generator().manual_seed(seed)
        train = sample_mixture(name, MIXTURE_TRAIN_SIZE, generator)
        held = sample_mixture(name, heldout, generator) if heldout else train[:0]
        return Dataset(name, train.to(device), held.to(device))
    train, held = _split(name, *_read_images(name, root, download, verify_checksum), heldout)
    return Dataset(name, torch.from_numpy(train).to(device), torch.from_numpy(held).to(device))


def _read_images(name: str, root: str | Path | None, download: bool,
                 verify_checksum: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Training images and test images (None without a test split), uint8 (N, 3, H, W)."""
    if name == "images":
        if root is None:
            raise ConfigError("root=None is not valid for dataset 'images'; give a folder of images or an .npz file")
        return load_images(Path(root).expanduser()), None
    folder = default_root() if root is None else Path(root).expanduser()
    loader = load_cifar10 if name == "cifar10" else load_svhn
    return loader(folder, download_missing=download, verify_checksum=verify_checksum)


def _split(name: str, images: np.ndarray, test: np.ndarray | None, heldout: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, held out): the first ``heldout`` test images, or the last ``heldout`` images."""
    if test is not None:
        if heldout > len(test):
            raise ConfigError(f"heldout={heldout} is not valid; {name} has {len(test)} test images to hold out")
        return images, test[:heldout]
    if heldout >= len(images):
        raise ConfigError(f"heldout={heldout} is not valid; it must be below the {len(images)} images of {name}")
    return images[:len(images) - heldout], images[len(images) - heldout:]

"""Datasets by name: ``load_dataset(name, ...)`` returns a :class:`Dataset` held whole on a device.

- ``cifar10``: the "python version" folder ``cifar-10-batches-py`` (downloaded when absent);
- ``svhn``: the official ``train_32x32.mat`` and ``test_32x32.mat`` (downloaded when absent);
- ``mnist``: the four gzip idx files in ``root/mnist`` (downloaded when absent), 1x28x28;
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
from ali_opt.data.mnist import load_mnist
from ali_opt.data.svhn import load_svhn
from ali_opt.errors import ConfigError, check_choice

DATASETS = ("cifar10", "svhn", "mnist", "images", "ring", "grid")

MIXTURE_TRAIN_SIZE = 100_000
"""Points drawn once for the training split of ``ring`` and ``grid``."""

__all__ = ["DATASETS", "Dataset", "load_dataset"]


def default_root() -> Path:
    """Where downloaded datasets go when no ``root`` is given: ``~/.cache/ali_opt``."""
    return Path.home() / ".cache" / "ali_opt"


def load_dataset(name: str, *, root: str | Path | None, heldout: int, device: torch.device | str = "cpu",
                 download: bool = True, verify_checksum: bool = True, seed: int = 0, validation: int = 0) -> Dataset:
    """Dataset ``name`` (one of :data:`DATASETS`) with ``heldout`` held-out examples, on ``device``.

    - ``root``: cifar10, svhn and mnist: the folder holding the files (None: :func:`default_root`);
      cifar10 accepts ``cifar-10-batches-py`` itself or its parent, mnist ``mnist`` itself or
      its parent. images: the folder or .npz file. Unused by ring and grid.
    - ``heldout``: examples taken from the test split when there is one (cifar10, svhn, mnist),
      else from the end of the data, which the training split then leaves out (images); ring
      and grid draw them separately. 0 is allowed.
    - ``download``: fetch cifar10, svhn or mnist files that are missing (with a progress bar);
      ``verify_checksum``: check a download against its published MD5.
    - ``seed``: seeds the draws of ring and grid.
    - ``validation``: the last ``validation`` examples of the training data (before any
      held-out ones the training data gives up) become the validation split, which training
      then never sees; ring and grid draw them separately. The split does not depend on ``seed``.

    CIFAR-10 and MNIST keep their class labels (``Dataset.labels``); the other datasets hold none.

    Bad arguments, missing or unreadable files raise :class:`~ali_opt.errors.ConfigError`.
    """
    check_choice("dataset", name, DATASETS)
    if isinstance(heldout, bool) or not isinstance(heldout, int) or heldout < 0:
        raise ConfigError(f"heldout={heldout!r} is not valid; it must be an integer >= 0")
    if isinstance(validation, bool) or not isinstance(validation, int) or validation < 0:
        raise ConfigError(f"validation={validation!r} is not valid; it must be an integer >= 0")
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
        valid = sample_mixture(name, validation, generator) if validation else train[:0]
        return Dataset(name, train.to(device), held.to(device), valid.to(device))
    images, labels, test, test_labels = _read_images(name, root, download, verify_checksum)
    splits = _split(name, images, test, heldout, validation)
    has_labels = labels is not None and (test is None or test_labels is not None)
    label_splits = _split(name, labels, test_labels, heldout, validation) if has_labels else None
    tensors = [torch.from_numpy(split).to(device) for split in splits]
    labelled = {split: torch.from_numpy(values).to(device)
                for split, values in zip(("train", "heldout", "validation"), label_splits or ())}
    return Dataset(name, *tensors, labels=labelled)


def _read_images(name: str, root: str | Path | None, download: bool, verify_checksum: bool):
    """Training images, their labels, test images, their labels: images uint8 (N, C, H, W);
    test images None without a test split, labels None when the data has none."""
    if name == "images":
        if root is None:
            raise ConfigError("root=None is not valid for dataset 'images'; give a folder of images or an .npz file")
        return load_images(Path(root).expanduser()), None, None, None
    folder = default_root() if root is None else Path(root).expanduser()
    if name == "cifar10":
        return load_cifar10(folder, download_missing=download, verify_checksum=verify_checksum)
    if name == "mnist":
        return load_mnist(folder, download_missing=download, verify_checksum=verify_checksum)
    train, test = load_svhn(folder, download_missing=download, verify_checksum=verify_checksum)
    return train, None, test, None


def _split(name: str, images: np.ndarray, test: np.ndarray | None, heldout: int,
           validation: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, held out, validation): held out is the first ``heldout`` test images, or the
    last ``heldout`` images; validation the last ``validation`` images left before it."""
    if test is not None:
        if heldout > len(test):
            raise ConfigError(f"heldout={heldout} is not valid; {name} has {len(test)} test images to hold out")
        held, images = test[:heldout], images
    else:
        if heldout >= len(images):
            raise ConfigError(f"heldout={heldout} is not valid; it must be below the {len(images)} images of {name}")
        held, images = images[len(images) - heldout:], images[:len(images) - heldout]
    if validation >= len(images):
        raise ConfigError(f"validation={validation} is not valid; it must be below the {len(images)} training "
                          f"images of {name} left after holding out {heldout}")
    return images[:len(images) - validation], held, images[len(images) - validation:]

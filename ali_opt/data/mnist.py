"""MNIST from the four gzip-compressed idx files in ``root/mnist``, downloaded when absent.

An idx file (LeCun et al., http://yann.lecun.com/exdb/mnist/) is a big-endian header, then
uint8 values: the magic number (0x00000803 for images, 0x00000801 for labels: two zero
bytes, the type code 0x08 for unsigned bytes, the number of dimensions), one 32-bit size
per dimension (N, 28, 28 for images; N for labels), then the N x 28 x 28 (or N) values in
row-major order. Images are white digits on black.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ali_opt.data.download import download
from ali_opt.errors import ConfigError

FOLDER = "mnist"
BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
"""Where torchvision fetches MNIST from (the original site throttles downloads)."""

FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
"""The files read, with their published MD5."""

IMAGE_MAGIC, LABEL_MAGIC = 0x00000803, 0x00000801
IMAGE_SIZE = 28


def load_mnist(root: Path, *, download_missing: bool,
               verify_checksum: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training images, their labels, test images, their labels, from ``root / "mnist"`` (or
    ``root`` itself when it holds the files). Images uint8 (N, 1, 28, 28); labels int64 (N,) in 0..9.

    Missing files are downloaded when ``download_missing``; ``verify_checksum`` checks the
    downloads against their published MD5 (never files already on disk, which may be a
    subset such as ``../shared/data/mnist``).
    """
    folder = root if (root / next(iter(FILES))).is_file() else root / FOLDER
    paths = [_fetched(folder / name, download_missing, verify_checksum) for name in FILES]
    train_images, train_labels, test_images, test_labels = (_read_idx(path) for path in paths)
    return (_images(train_images, train_labels, paths[:2]), train_labels,
            _images(test_images, test_labels, paths[2:]), test_labels)


def _fetched(path: Path, download_missing: bool, verify_checksum: bool) -> Path:
    """``path``, downloaded first when missing and allowed."""
    if not path.is_file():
        hint = f"put {', '.join(FILES)} (from {BASE_URL}) in {path.parent}"
        if not download_missing:
            raise ConfigError(f"MNIST file {path} not found; {hint}, or pass download=True")
        download(BASE_URL + path.name, path, md5=FILES[path.name] if verify_checksum else None, manual_hint=hint)
    return path


def _images(images: np.ndarray, labels: np.ndarray, paths: list[Path]) -> np.ndarray:
    """Images (N, 28, 28) as (N, 1, 28, 28), once their count matches the labels' (``paths``:
    the images' file and the labels')."""
    if len(labels) != len(images):
        raise ConfigError(f"{paths[0]} holds {len(images)} images but {paths[1]} holds {len(labels)} labels; "
                          "delete both files and download them again")
    return images[:, None]


def parse_idx(data: bytes, path: Path) -> np.ndarray:
    """The array of one decompressed idx file: images uint8 (N, 28, 28), or labels int64 (N,) in 0..9."""
    magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    if magic not in (IMAGE_MAGIC, LABEL_MAGIC):
        found = "too short to hold one" if magic is None else f"0x{magic:08x}"
        raise ConfigError(f"{path} is not an MNIST idx file: its magic number is {found}, not 0x{IMAGE_MAGIC:08x} "
                          f"(images) or 0x{LABEL_MAGIC:08x} (labels)")
    dims = magic & 0xFF
    header = 4 + 4 * dims
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    expected = (shape[0], IMAGE_SIZE, IMAGE_SIZE) if magic == IMAGE_MAGIC else shape[:1]
    if len(data) < header:
        raise ConfigError(f"{path} is truncated: it ends inside its {header}-byte header; delete it and download "
                          "it again")
    if shape != expected:
        raise ConfigError(f"{path} has the header of shape {shape}; MNIST holds shape {expected} "
                          f"(N images of {IMAGE_SIZE}x{IMAGE_SIZE}, or N labels)")
    if len(data) != header + int(np.prod(shape)):
        raise ConfigError(f"{path} is truncated or corrupt: its header promises {int(np.prod(shape))} values after "
                          f"{header} bytes, but it holds {len(data) - header}; delete it and download it again")
    values = np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)
    if magic == LABEL_MAGIC:
        if len(values) and values.max() > 9:
            raise ConfigError(f"{path} holds the label {values.max()}; MNIST labels lie in 0..9")
        return values.astype(np.int64)
    return values.copy()


def _read_idx(path: Path) -> np.ndarray:
    """The array of one gzip-compressed idx file (:func:`parse_idx`)."""
    try:
        with gzip.open(path, "rb") as file:
            data = file.read()
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise ConfigError(f"could not read {path} ({type(error).__name__}: {error}); the file is truncated or "
                          "corrupt: delete it and download it again") from None
    return parse_idx(data, path)

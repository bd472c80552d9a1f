"""User images: a folder of image files, or an .npz file holding one uint8 array."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ali_opt.errors import ConfigError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def load_images(path: Path) -> np.ndarray:
    """All images at ``path``, uint8 (N, 3, H, W): RGB, whatever the source stores.

    ``path`` is a folder of same-sized image files (read in name order, other files ignored)
    or an .npz file holding one uint8 array (N, H, W, C) or (N, C, H, W) with 1 or 3 channels.
    """
    if path.is_dir():
        return _read_folder(path)
    if path.suffix == ".npz" and path.is_file():
        return _read_npz(path)
    raise ConfigError(
        f"root={str(path)!r} is not valid for dataset 'images'; give a folder of image files "
        f"({', '.join(IMAGE_SUFFIXES)}) or an .npz file holding one uint8 array"
    )


def _read_folder(folder: Path) -> np.ndarray:
    """The image files of ``folder`` in name order, converted to RGB, uint8 (N, 3, H, W)."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ConfigError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    images = None
    for index, file in enumerate(files):
        try:
            with Image.open(file) as image:
                pixels = np.asarray(image.convert("RGB"))
        except Exception as error:  # PIL fails on damaged files with assorted exception types
            raise ConfigError(f"could not read the image {file} ({error}); fix or remove it") from None
        if images is None:
            images = np.empty((len(files), *pixels.shape), dtype=np.uint8)
        elif pixels.shape != images.shape[1:]:
            raise ConfigError(
                f"{file} is {pixels.shape[1]}x{pixels.shape[0]} but {files[0].name} is "
                f"{images.shape[2]}x{images.shape[1]}; all images in {folder} must have the same size"
            )
        images[index] = pixels
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2))


def _read_npz(path: Path) -> np.ndarray:
    """The one uint8 array of an .npz file, channels first, grey repeated to RGB."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = archive.files
            images = archive[names[0]] if len(names) == 1 else None
    except Exception as error:  # numpy and zipfile fail on damaged files with assorted exception types
        raise ConfigError(f"could not read {path} ({type(error).__name__}: {error}); it must be an .npz file of "
                          "one uint8 array") from None
    if images is None:
        raise ConfigError(f"{path} holds the arrays {names}; it must hold exactly one")
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ConfigError(
            f"{path} holds {images.dtype} {images.shape}; it must hold uint8 (N, H, W, C) or (N, C, H, W)"
        )
    if images.shape[1] not in (1, 3):
        if images.shape[3] not in (1, 3):
            raise ConfigError(
                f"{path} holds images of shape {images.shape[1:]}; they need 1 or 3 channels, first or last"
            )
        images = images.transpose(0, 3, 1, 2)
    return np.repeat(images, 3 // images.shape[1], axis=1)  # grey to RGB; a contiguous copy either way

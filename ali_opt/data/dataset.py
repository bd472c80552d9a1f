"""The in-memory dataset every loader returns: training and held-out examples on one device."""
from __future__ import annotations

from collections.abc import Iterator

import torch

from ali_opt.errors import check_positive


class Dataset:
    """A training split, a held-out (test) split and a validation split carved from the
    training examples (never trained on), each held whole as one tensor on one device.

    Images are stored as uint8 (N, C, H, W) and handed out as float32 in [0, 1]; points are
    stored and handed out as float32 (N, D).

    Attributes: ``name``; ``train``, ``heldout`` and ``validation`` (the stored tensors;
    ``validation`` is empty unless given); ``labels``, the class index of each example per
    split name (``"train"``, ``"validation"``, ``"heldout"``), empty for unlabelled data;
    ``pixel_mean``, the mean training pixel in [0, 1] (a float), and ``pixel_marginals``, the
    mean of each pixel and channel over the training set, (C, H, W) float32 on the CPU; both
    None for points.
    """

    def __init__(self, name: str, train: torch.Tensor, heldout: torch.Tensor, validation: torch.Tensor | None = None,
                 labels: dict[str, torch.Tensor] | None = None):
        self.name = name
        self.train = train
        self.heldout = heldout
        self.validation = train[:0] if validation is None else validation
        self.labels = dict(labels or {})
        images = train.dtype == torch.uint8
        self.pixel_mean = _mean_pixel(train) if images else None
        self.pixel_marginals = _pixel_marginals(train) if images else None

    def sample(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """``batch_size`` training examples drawn uniformly with replacement, as float32.

        ``generator`` must live on the device of ``train``.
        """
        check_positive("batch_size", batch_size, integer=True)
        index = torch.randint(len(self.train), (batch_size,), generator=generator, device=self.train.device)
        return _as_float(self.train[index])

    def heldout_batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        """The held-out examples in order, as float32 batches of ``batch_size`` (the last may be smaller)."""
        return _in_order(self.heldout, batch_size)

    def train_batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        """The training examples in order, as float32 batches of ``batch_size`` (the last may be smaller)."""
        return _in_order(self.train, batch_size)

    def batches(self, split: str, batch_size: int, count: int | None = None) -> Iterator[torch.Tensor]:
        """The first ``count`` (default: all) examples of ``split`` (``train``, ``validation``,
        ``heldout``) in order, as float32 batches of ``batch_size`` (the last may be smaller)."""
        return _in_order(getattr(self, split)[:count], batch_size)

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, train={tuple(self.train.shape)}, heldout={tuple(self.heldout.shape)}, "
                f"validation={tuple(self.validation.shape)}, labels={sorted(self.labels)}, "
                f"dtype={self.train.dtype}, device={self.train.device})")


def _in_order(examples: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    check_positive("batch_size", batch_size, integer=True)
    return (_as_float(examples[start:start + batch_size]) for start in range(0, len(examples), batch_size))


def _as_float(examples: torch.Tensor) -> torch.Tensor:
    """uint8 pixels scaled to float32 [0, 1]; float examples unchanged."""
    return examples / 255.0 if examples.dtype == torch.uint8 else examples


def _mean_pixel(images: torch.Tensor) -> float:
    """Mean of a uint8 tensor scaled to [0, 1], exact, from a histogram of the 256 values
    (no wider copy of the data, which a plain sum would make)."""
    counts = torch.bincount(images.flatten(), minlength=256)
    return (counts * torch.arange(256, device=counts.device)).sum().item() / (images.numel() * 255)


def _pixel_marginals(images: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """Mean of each pixel and channel of uint8 (N, C, H, W) images, scaled to [0, 1], summed in
    float64 a chunk of images at a time (no float copy of the whole data)."""
    total = torch.zeros(images.shape[1:], dtype=torch.float64, device=images.device)
    for start in range(0, len(images), chunk):
        total += images[start:start + chunk].sum(dim=0, dtype=torch.float64)
    return (total / (max(len(images), 1) * 255)).float().cpu()

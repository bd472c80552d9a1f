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
    ``pixel_mean``, the mean training pixel in [0, 1] (a float), or None for points.
    """

    def __init__(self, name: str, train: torch.Tensor, heldout: torch.Tensor, validation: torch.Tensor | None = None,
                 labels: dict[str, torch.Tensor] | None = None):
        self.name = name
        self.train = train
        self.heldout = heldout
        self.validation = train[:0] if validation is None else validation
        self.labels = dict(labels or {})
        self.pixel_mean = _mean_pixel(train) if train.dtype == torch.uint8 else None

    def sample(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """``batch_size`` training examples drawn uniformly with replacement, as float32.

        ``generator`` must live on the device of ``train``.
        """
        check_positive("batch_size", batch_size, integer=True)
        index = torch.randint(len(self.train), (batch_size,), generator=generator, device=self.train.device)
        return _as_float(self.train[index])

    def heldout_batches(self, batch_size: int) -> Iterator[torch.Tensor]:
        """The held-out examples in order, as float32 batches of ``batch_size`` (the last may be smaller)."""
        return self.batches("heldout", batch_size)

    def batches(self, split: str, batch_size: int, count: int | None = None) -> Iterator[torch.Tensor]:
        """The first ``count`` (default: all) examples of ``split`` (``train``, ``validation``,
        ``heldout``) in order, as float32 batches of ``batch_size`` (the last may be smaller)."""
        check_positive("batch_size", batch_size, integer=True)
        examples = getattr(self, split)[:count]
        for start in range(0, len(examples), batch_size):
            yield _as_float(examples[start:start + batch_size])

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, train={tuple(self.train.shape)}, heldout={tuple(self.heldout.shape)}, "
                f"validation={tuple(self.validation.shape)}, labels={sorted(self.labels)}, "
                f"dtype={self.train.dtype}, device={self.train.device})")


def _as_float(examples: torch.Tensor) -> torch.Tensor:
    """uint8 pixels scaled to float32 [0, 1]; float examples unchanged."""
    return examples / 255.0 if examples.dtype == torch.uint8 else examples


def _mean_pixel(images: torch.Tensor) -> float:
    """Mean of a uint8 tensor scaled to [0, 1], exact, from a histogram of the 256 values
    (no wider copy of the data, which a plain sum would make)."""
    counts = torch.bincount(images.flatten(), minlength=256)
    return (counts * torch.arange(256, device=counts.device)).sum().item() / (images.numel() * 255)

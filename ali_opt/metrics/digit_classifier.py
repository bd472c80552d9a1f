"""The digit classifier behind the digit-level measures of MNIST runs: a small CNN, trained once
per training split and cached by content.

The network (:class:`DigitClassifier`) is LeNet-shaped (LeCun et al. 1998): two 5x5
convolutions (16 and 32 channels, each followed by ReLU and 2x2 max pooling), a 128-unit
hidden layer (ReLU) whose activations are the *features* that ``class_fid`` and ``class_kid``
compare (:mod:`ali_opt.metrics.digit_measures`), dropout 0.3, and 10 logits. 215,370 parameters.

Training (:func:`train_classifier`): Adam on the cross-entropy, batches drawn with replacement,
a one-cycle learning-rate schedule (Smith and Topin 2019) peaking at ``learning_rate``, each
image shifted by up to ``max_shift`` pixels in each direction (zero padding). Everything is
drawn from generators seeded with ``seed``, inside :func:`torch.random.fork_rng` (the global
generator, hence a run's trajectory, is untouched), on the CPU with one thread, so that the
same data gives the same weights whatever the run's device and thread count. The default
settings (:data:`DEFAULT_TRAINING`) reach 99.15% on the 2,000 test images of
``../shared/data/mnist`` trained on its 8,000 training images (99.0% on the 7,000 left by a
validation split of 1,000), in about a minute on one thread of a busy 2-core machine
(``python -m benchmarks.digit_classifier``; docs/mnist.md).

Cache (:func:`cached_classifier`): ``digit_classifier_<key>.pt`` in the cache folder of the
run's features (``sample_quality.cache``, default ``$XDG_CACHE_HOME/ali-opt``), a state dict
written atomically (:func:`~ali_opt.runtime.atomic.write_atomically`) and read with
``torch.load(weights_only=True)``. The key hashes the training images and labels
(:func:`~ali_opt.metrics.inception.images_digest`), the training settings and
:data:`CLASSIFIER_VERSION`. A file that cannot be read, or holds other tensors, is retrained
and replaced with a warning (as the Inception feature cache does): a cache is never a reason
for a run to fail.

References:
    Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. Gradient-based learning applied to document
    recognition. Proc. IEEE 86(11), 1998.
    L. N. Smith, N. Topin. Super-convergence: very fast training of neural networks using
    large learning rates. SPIE 11006, 2019.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..runtime.atomic import write_atomically
from ..runtime.threads import torch_threads
from .inception import images_digest

CLASSIFIER_VERSION = 1
"""Part of every cache key: bump it when the network or its training changes."""

CLASSES = 10
FEATURES = 128
"""Width of the penultimate layer, the feature space of ``class_fid`` and ``class_kid``."""


@dataclass(frozen=True)
class TrainingSettings:
    """How :func:`train_classifier` trains (all part of the cache key)."""

    epochs: float = 10.0
    """Passes over the training images; the step count is max(1, round(epochs * N / batch_size))."""
    batch_size: int = 64
    learning_rate: float = 3e-3
    """The one-cycle schedule's peak (it starts at 1/25 of it and ends near 0)."""
    max_shift: int = 2
    """Each training image is shifted by an integer in [-max_shift, max_shift] along each axis."""
    seed: int = 0


DEFAULT_TRAINING = TrainingSettings()


class DigitClassifier(nn.Module):
    """Images (N, 1, 28, 28) in [0, 1] to 10 logits; :meth:`features`: the 128-d penultimate layer."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(32 * 7 * 7, FEATURES), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(FEATURES, CLASSES))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


@torch.no_grad()
def classify(classifier: DigitClassifier, images: torch.Tensor,
             batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """``(features, predictions)`` of ``images`` (N, 1, 28, 28) in [0, 1], in evaluation mode, in
    batches of ``batch_size`` on the images' device (the classifier is moved there): features
    float32 (N, 128) and predicted classes (the argmax of the logits) int64 (N,), both on the CPU."""
    was_training = classifier.training
    classifier.eval().to(images.device)
    features, predictions = [torch.empty(0, FEATURES)], [torch.empty(0, dtype=torch.int64)]
    try:
        for start in range(0, len(images), batch_size):
            hidden = classifier.features(images[start:start + batch_size].float())
            features.append(hidden.cpu())
            predictions.append(classifier.head(hidden).argmax(dim=1).cpu())
    finally:
        classifier.train(was_training)
    return torch.cat(features), torch.cat(predictions)


def random_shifts(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Each image of ``x`` (N, C, H, W) translated by its own (dy, dx), each uniform on the
    integers of [-max_shift, max_shift]; pixels moved in from outside are 0 (black)."""
    if max_shift == 0:
        return x
    n, channels, height, width = x.shape
    padded = F.pad(x, (max_shift,) * 4)
    offsets = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator)
    rows = (offsets[0, :, None] + torch.arange(height))[:, None, :, None]
    cols = (offsets[1, :, None] + torch.arange(width))[:, None, None, :]
    return padded[torch.arange(n)[:, None, None, None], torch.arange(channels)[None, :, None, None], rows, cols]


def train_classifier(images: torch.Tensor, labels: torch.Tensor,
                     settings: TrainingSettings | None = None) -> DigitClassifier:
    """A :class:`DigitClassifier` trained on ``images`` (N, 1, 28, 28) in [0, 1] and their
    ``labels`` (N,) in 0..9 as the module docstring says, with ``settings`` (None:
    :data:`DEFAULT_TRAINING`); returned in evaluation mode on the CPU."""
    settings = settings or DEFAULT_TRAINING
    images, labels = images.detach().float().cpu(), labels.detach().long().cpu()
    steps = max(1, round(settings.epochs * len(images) / settings.batch_size))
    with torch.random.fork_rng(devices=[]), torch_threads(1):
        torch.manual_seed(settings.seed)
        classifier = DigitClassifier()
        optimizer = torch.optim.Adam(classifier.parameters(), lr=settings.learning_rate)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, settings.learning_rate, total_steps=steps)
        generator = torch.Generator().manual_seed(settings.seed)
        for _ in range(steps):
            index = torch.randint(len(images), (settings.batch_size,), generator=generator)
            x = random_shifts(images[index], settings.max_shift, generator)
            loss = F.cross_entropy(classifier(x), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return classifier.eval()


def cache_key(images: torch.Tensor, labels: torch.Tensor, settings: TrainingSettings) -> str:
    """SHA-256 of the training images and labels (dtype, shape, bytes), ``settings`` and
    :data:`CLASSIFIER_VERSION`."""
    digest = hashlib.sha256(f"{images_digest(images)} {images_digest(labels)} {CLASSIFIER_VERSION}".encode())
    digest.update(json.dumps(dataclasses.asdict(settings), sort_keys=True).encode())
    return digest.hexdigest()


def cache_path(cache: str | Path, key: str) -> Path:
    return Path(cache) / f"digit_classifier_{key[:32]}.pt"


def cached_classifier(images: torch.Tensor, labels: torch.Tensor, cache: str | Path,
                      settings: TrainingSettings | None = None) -> DigitClassifier:
    """The classifier :func:`train_classifier` makes of ``images`` and ``labels`` with
    ``settings`` (None: :data:`DEFAULT_TRAINING`): read from ``cache`` (a folder) when trained
    before, else trained and stored there (see the module docstring; a damaged file is
    retrained and replaced, with a warning)."""
    settings = settings or DEFAULT_TRAINING
    path = cache_path(cache, cache_key(images, labels, settings))
    if path.exists():
        classifier = DigitClassifier()
        try:
            classifier.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            return classifier.eval()
        except Exception as error:  # torch raises assorted types for damaged files: retrain and replace it
            warnings.warn(f"digit classifier cache {path} is unreadable ({type(error).__name__}); retraining it",
                          stacklevel=2)
    classifier = train_classifier(images, labels, settings)
    write_atomically(path, lambda file: torch.save(classifier.state_dict(), file), binary=True)
    return classifier


"""The digit classifier (ali_opt/metrics/digit_classifier.py): training, shifts, and its cache."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ali_opt.data import load_dataset
from ali_opt.metrics.digit_measures import recon_class_accuracy

from ali_opt.metrics import digit_classifier
from ali_opt.metrics.digit_classifier import (DigitClassifier, TrainingSettings, cache_key, cache_path,
                                              cached_classifier, classify, random_shifts, train_classifier)

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

SHORT = TrainingSettings(epochs=8, batch_size=16, max_shift=0)
"""A few steps: enough to separate the stripes of :func:`stripes`."""


def stripes(count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` 'digits' in [0, 1]: class c lights row 2 + 2c of a 28x28 image."""
    labels = torch.arange(count) % 10
    images = torch.zeros(count, 1, 28, 28)
    images[torch.arange(count), 0, 2 + 2 * labels] = 1.0
    return images, labels


@pytest.fixture
def trainings(monkeypatch) -> list:
    """Counts the trainings :func:`cached_classifier` starts (the settings of each)."""
    calls = []

    def counted(images, labels, settings=None):
        calls.append(settings)
        return train_classifier(images, labels, settings)

    monkeypatch.setattr(digit_classifier, "train_classifier", counted)
    return calls


def _weights(classifier: DigitClassifier) -> dict:
    return {name: tensor.clone() for name, tensor in classifier.state_dict().items()}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)


def test_training_separates_the_stripes_and_is_reproducible_without_touching_the_global_generator(one_thread):
    images, labels = stripes(60)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = train_classifier(images, labels, SHORT)
    assert torch.equal(torch.rand(3), expected)  # the global generator is where it was
    assert not first.training
    features, predictions = classify(first, images, batch_size=7)
    assert features.shape == (60, 128) and features.dtype == torch.float32 and (features >= 0).all()  # after ReLU
    assert torch.equal(predictions, labels)
    assert _same(_weights(first), _weights(train_classifier(images, labels, SHORT)))
    assert not _same(_weights(first), _weights(train_classifier(images, labels, TrainingSettings(**{
        **SHORT.__dict__, "seed": 1}))))


def test_the_network_has_the_parameters_its_layers_add_up_to():
    # conv 5x5 1 -> 16: 25 * 16 + 16; conv 5x5 16 -> 32: 25 * 16 * 32 + 32; dense 32 * 7 * 7 -> 128; dense 128 -> 10
    expected = (25 * 16 + 16) + (25 * 16 * 32 + 32) + (32 * 7 * 7 * 128 + 128) + (128 * 10 + 10)
    assert sum(parameter.numel() for parameter in DigitClassifier().parameters()) == expected == 215_370


def test_random_shifts_move_each_image_within_the_bound_and_keep_its_pixels():
    images = torch.zeros(200, 1, 28, 28)
    images[:, 0, 10, 20] = 1.0
    shifted = random_shifts(images, 2, torch.Generator().manual_seed(0))
    assert torch.equal(shifted.sum(dim=(1, 2, 3)), torch.ones(200))  # one lit pixel each, nothing lost
    where = shifted[:, 0].nonzero()[:, 1:]
    offsets = where - torch.tensor([10, 20])
    assert offsets.abs().max() == 2 and {tuple(o) for o in offsets.tolist()} == {(dy, dx) for dy in range(-2, 3)
                                                                                  for dx in range(-2, 3)}
    edge = torch.zeros(1, 1, 28, 28)
    edge[0, 0, 0, 0] = 1.0  # shifted up or left, the corner pixel leaves the image: zeros come in
    outcomes = {random_shifts(edge, 1, torch.Generator().manual_seed(seed)).sum().item() for seed in range(30)}
    assert outcomes == {0.0, 1.0}
    assert random_shifts(images, 0, torch.Generator()) is images


def test_the_cache_hits_without_training_again(tmp_path, trainings, one_thread):
    images, labels = stripes(40)
    first = cached_classifier(images, labels, tmp_path, SHORT)
    assert len(trainings) == 1 and cache_path(tmp_path, cache_key(images, labels, SHORT)).is_file()
    again = cached_classifier(images, labels, tmp_path, SHORT)
    assert len(trainings) == 1 and not again.training
    assert _same(_weights(first), _weights(again))


def test_the_cache_misses_for_other_data_other_settings_or_another_version(tmp_path, trainings, monkeypatch,
                                                                            one_thread):
    images, labels = stripes(40)
    cached_classifier(images, labels, tmp_path, SHORT)
    cached_classifier(images, labels.roll(1), tmp_path, SHORT)  # other labels
    cached_classifier(images[:30], labels[:30], tmp_path, SHORT)  # other images
    cached_classifier(images, labels, tmp_path, TrainingSettings(**{**SHORT.__dict__, "epochs": 3}))
    assert len(trainings) == 4
    monkeypatch.setattr(digit_classifier, "CLASSIFIER_VERSION", digit_classifier.CLASSIFIER_VERSION + 1)
    cached_classifier(images, labels, tmp_path, SHORT)
    assert len(trainings) == 5 and len(list(tmp_path.glob("digit_classifier_*.pt"))) == 5


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other tensors"])
def test_a_damaged_cache_file_is_retrained_and_replaced_with_a_warning(tmp_path, trainings, damage, one_thread):
    images, labels = stripes(40)
    expected = _weights(cached_classifier(images, labels, tmp_path, SHORT))
    path = cache_path(tmp_path, cache_key(images, labels, SHORT))
    if damage == "garbage":
        path.write_bytes(b"not a checkpoint")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    else:
        torch.save({"weight": torch.zeros(3)}, path)
    with pytest.warns(UserWarning, match=f"digit classifier cache {path} is unreadable .*; retraining it"):
        retrained = cached_classifier(images, labels, tmp_path, SHORT)
    assert len(trainings) == 2 and _same(_weights(retrained), expected)
    cached_classifier(images, labels, tmp_path, SHORT)  # the replaced file is read back
    assert len(trainings) == 2
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_one_epoch_on_the_shared_mnist_subset_already_reads_most_test_digits(one_thread):
    """The full training's accuracy (>= 98%) is measured by benchmarks/digit_classifier.py."""
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"the shared MNIST subset is absent ({SHARED_DATA / 'mnist'})")
    dataset = load_dataset("mnist", root=SHARED_DATA, heldout=500, download=False)
    classifier = train_classifier(next(dataset.batches("train", len(dataset.train))), dataset.labels["train"],
                                  TrainingSettings(epochs=1))
    assert recon_class_accuracy(classifier, next(dataset.batches("heldout", 500)), dataset.labels["heldout"]) > 0.93

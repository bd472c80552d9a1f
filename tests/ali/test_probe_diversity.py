"""The linear probe and the collapse measure, on inputs whose answer is known."""
from __future__ import annotations

import pytest
import torch

from ali_opt.data import load_dataset
from ali_opt.metrics.diversity import diversity_ratio, mean_pairwise_distance
from ali_opt.errors import ConfigError
from ali_opt.models import build_models
from ali_opt.metrics.probe import encoder_features, fit_and_score


def gaussian_classes(generator, count, separation):
    """``count`` points in 20-d, 10 classes with means ``separation`` apart along the axes."""
    labels = torch.randint(10, (count,), generator=generator)
    points = torch.randn(count, 20, generator=generator, dtype=torch.float64)
    points[torch.arange(count), labels] += separation
    return points, labels


def test_probe_separates_separable_classes():
    generator = torch.Generator().manual_seed(0)
    train, train_labels = gaussian_classes(generator, 1000, separation=8.0)
    test, test_labels = gaussian_classes(generator, 1000, separation=8.0)
    assert fit_and_score(train, train_labels, test, test_labels) > 0.97


def test_probe_on_random_labels_is_at_chance():
    generator = torch.Generator().manual_seed(1)
    train, test = (torch.randn(2000, 20, generator=generator, dtype=torch.float64) for _ in range(2))
    train_labels, test_labels = (torch.randint(10, (2000,), generator=generator) for _ in range(2))
    assert abs(fit_and_score(train, train_labels, test, test_labels) - 0.1) < 0.03


def test_probe_is_deterministic_and_leaves_the_global_rng_alone():
    generator = torch.Generator().manual_seed(2)
    train, labels = gaussian_classes(generator, 300, separation=1.0)
    state = torch.get_rng_state()
    first = fit_and_score(train, labels, train, labels)
    assert fit_and_score(train, labels, train, labels) == first
    assert torch.equal(torch.get_rng_state(), state)


def test_hidden_features_are_the_encoders_last_three_activations():
    encoder = build_models("cifar32", width=0.125, pixel_mean=0.5).encoder.eval()
    x = torch.rand(4, 3, 32, 32)
    # 1/8 width: the 4x4 map of 32 channels, then the 64-unit 1x1 convolution and dense layer.
    assert encoder_features(encoder, x, "hidden").shape == (4, 32 * 16 + 64 + 64)
    assert torch.equal(encoder_features(encoder, x, "mean"), encoder(x)[0].flatten(1).double())
    with pytest.raises(ConfigError, match="probe.features='pixels' is not valid"):
        encoder_features(encoder, x, "pixels")


def test_diversity_is_zero_for_identical_samples_and_one_for_samples_like_the_data():
    generator = torch.Generator().manual_seed(0)
    data = torch.rand(200, 3, 8, 8, generator=generator)
    like_data = torch.rand(200, 3, 8, 8, generator=generator)
    assert diversity_ratio(data[:1].expand(200, -1, -1, -1), data) == 0.0
    assert diversity_ratio(like_data, data) == pytest.approx(1.0, abs=0.02)
    two_patterns = data[:2].repeat(100, 1, 1, 1)  # collapse onto two images: about half their distance
    expected = torch.dist(data[0], data[1]).item() * 100 * 100 / (200 * 199 / 2)
    assert mean_pairwise_distance(two_patterns) == pytest.approx(expected)


def test_validation_split_is_carved_from_training_images_and_labels_follow(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    import pickle
    for index, name in enumerate([*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]):
        data = torch.full((4, 3072), index * 10, dtype=torch.uint8).numpy()
        data[:, 0] = range(4)
        with open(folder / name, "wb") as file:
            pickle.dump({"data": data, "labels": [index] * 4}, file)
    dataset = load_dataset("cifar10", root=folder, heldout=3, validation=5, download=False)
    assert (len(dataset.train), len(dataset.validation), len(dataset.heldout)) == (15, 5, 3)
    assert dataset.labels["validation"].tolist() == [3, 4, 4, 4, 4]  # the last 5 training images
    assert dataset.labels["heldout"].tolist() == [5, 5, 5]
    assert not set(map(tuple, dataset.train[:, 0, 0, :2].tolist())) & set(map(tuple, dataset.validation[:, 0, 0, :2].tolist()))
    with pytest.raises(ConfigError, match="validation=20 is not valid"):
        load_dataset("cifar10", root=folder, heldout=3, validation=20, download=False)

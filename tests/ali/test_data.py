"""Tests of ali_opt.data: loaders, the restricted unpickler, downloads, splits, sampling, mixtures."""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

from ali_opt.data import DATASETS, Dataset, load_dataset
from ali_opt.data.cifar10 import FOLDER, TEST_FILE, TRAIN_FILES, URL
from ali_opt.data.mixtures import mixture_centers, mixture_std, sample_mixture
from ali_opt.errors import ConfigError

SHARED_CIFAR = Path(__file__).resolve().parents[3] / "shared" / "data"


# ---------------------------------------------------------------- helpers

def _write_batch(path: Path, data: np.ndarray, *, bytes_keys: bool = False) -> None:
    batch = {"batch_label": "fake", "labels": [0] * len(data), "data": data}
    if bytes_keys:
        batch = {key.encode(): value for key, value in batch.items()}
    path.write_bytes(pickle.dumps(batch, protocol=2))


def _write_cifar(folder: Path, per_batch: int = 3, *, bytes_keys: bool = False) -> dict[str, np.ndarray]:
    """A small CIFAR-10 folder with random pixels; returns each file's data rows."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = {}
    for name in (*TRAIN_FILES, TEST_FILE):
        rows[name] = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        _write_batch(folder / name, rows[name], bytes_keys=bytes_keys)
    return rows


def _decode_row(row: np.ndarray) -> np.ndarray:
    """Reference decode of one CIFAR-10 row, pixel by pixel: 1024 R, 1024 G, 1024 B, row-major."""
    image = np.empty((3, 32, 32), dtype=np.uint8)
    for channel in range(3):
        for i in range(32):
            for j in range(32):
                image[channel, i, j] = row[channel * 1024 + i * 32 + j]
    return image


class _FakeResponse(io.BytesIO):
    """What urlopen returns, serving ``payload``."""

    def __init__(self, payload: bytes):
        super().__init__(payload)
        self.headers = {"Content-Length": str(len(payload))}


def _serve(monkeypatch, payload: bytes) -> list[str]:
    """Make urlopen serve ``payload``; returns the list of URLs requested."""
    requested = []

    def urlopen(url, timeout):
        requested.append(url)
        return _FakeResponse(payload)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return requested


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _cifar_archive(tmp_path: Path) -> bytes:
    source = tmp_path / "source" / FOLDER
    _write_cifar(source)
    return _tar_gz({f"{FOLDER}/{p.name}": p.read_bytes() for p in source.iterdir()})


# ---------------------------------------------------------------- CIFAR-10, shared subset

@pytest.fixture
def shared_cifar() -> Path:
    if not (SHARED_CIFAR / FOLDER).is_dir():
        pytest.skip(f"the shared CIFAR-10 subset is absent ({SHARED_CIFAR / FOLDER})")
    return SHARED_CIFAR


def test_shared_cifar_loads_with_right_shapes_and_counts(shared_cifar):
    dataset = load_dataset("cifar10", root=shared_cifar, heldout=1500, download=False)
    assert dataset.name == "cifar10"
    assert dataset.train.shape == (10_000, 3, 32, 32) and dataset.train.dtype == torch.uint8
    assert dataset.heldout.shape == (1500, 3, 32, 32) and dataset.heldout.dtype == torch.uint8
    assert dataset.pixel_mean == pytest.approx(dataset.train.double().mean().item() / 255)
    assert 0.3 < dataset.pixel_mean < 0.7


def test_shared_cifar_matches_a_reference_decode(shared_cifar):
    folder = shared_cifar / FOLDER
    with open(folder / TEST_FILE, "rb") as file:
        reference = pickle.load(file, encoding="bytes")  # trusted file, plain decode as a reference
    dataset = load_dataset("cifar10", root=folder, heldout=5, download=False)
    for index in (0, 4):
        expected = _decode_row(reference[b"data"][index])
        np.testing.assert_array_equal(dataset.heldout[index].numpy(), expected)


def test_shared_cifar_refuses_more_heldout_than_test_images(shared_cifar):
    with pytest.raises(ConfigError, match="heldout=2001"):
        load_dataset("cifar10", root=shared_cifar, heldout=2001, download=False)


# ---------------------------------------------------------------- CIFAR-10, generated files

@pytest.mark.parametrize("bytes_keys", [False, True])
def test_cifar_reads_generated_folder_from_root_or_folder(tmp_path, bytes_keys):
    rows = _write_cifar(tmp_path / FOLDER, bytes_keys=bytes_keys)
    for root in (tmp_path, tmp_path / FOLDER):
        dataset = load_dataset("cifar10", root=root, heldout=2, download=False)
        assert dataset.train.shape == (15, 3, 32, 32) and dataset.heldout.shape == (2, 3, 32, 32)
        np.testing.assert_array_equal(dataset.train[3].numpy(), _decode_row(rows["data_batch_2"][0]))
        np.testing.assert_array_equal(dataset.heldout[1].numpy(), _decode_row(rows[TEST_FILE][1]))


def test_malicious_pickle_is_refused_without_running_it(tmp_path):
    _write_cifar(tmp_path / FOLDER)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    (tmp_path / FOLDER / "data_batch_2").write_bytes(pickle.dumps({"data": Exploit()}, protocol=2))
    with pytest.raises(ConfigError, match="refusing to load .*data_batch_2.*system"):
        load_dataset("cifar10", root=tmp_path, heldout=0, download=False)
    assert not marker.exists()


def test_truncated_batch_is_a_clear_error_naming_the_file(tmp_path):
    _write_cifar(tmp_path / FOLDER)
    batch = tmp_path / FOLDER / "data_batch_4"
    batch.write_bytes(batch.read_bytes()[:2000])
    with pytest.raises(ConfigError, match="could not read .*data_batch_4.*truncated or corrupt") as error:
        load_dataset("cifar10", root=tmp_path, heldout=0, download=False)
    assert "\n" not in str(error.value)


def test_batch_of_the_wrong_content_is_a_clear_error(tmp_path):
    _write_cifar(tmp_path / FOLDER)
    _write_batch(tmp_path / FOLDER / TEST_FILE, np.zeros((2, 100), dtype=np.uint8))
    with pytest.raises(ConfigError, match="test_batch is not a CIFAR-10 batch"):
        load_dataset("cifar10", root=tmp_path, heldout=0, download=False)


def test_missing_batch_file_is_named(tmp_path):
    _write_cifar(tmp_path / FOLDER)
    (tmp_path / FOLDER / "data_batch_3").unlink()
    with pytest.raises(ConfigError, match="data_batch_3 is missing"):
        load_dataset("cifar10", root=tmp_path, heldout=0, download=False)


def test_missing_folder_without_download_names_the_expected_path_and_stays_offline(tmp_path, monkeypatch):
    requested = _serve(monkeypatch, b"")
    with pytest.raises(ConfigError) as error:
        load_dataset("cifar10", root=tmp_path, heldout=0, download=False)
    assert str(tmp_path / FOLDER) in str(error.value) and "download=True" in str(error.value)
    assert requested == []


def test_offline_download_fails_clearly(tmp_path, monkeypatch):
    def urlopen(url, timeout):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    with pytest.raises(ConfigError) as error:
        load_dataset("cifar10", root=tmp_path, heldout=0)
    message = str(error.value)
    assert URL in message and str(tmp_path / FOLDER) in message and "name resolution" in message
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(params=["tarfile's data filter", "checks by hand (Python < 3.11.4)"])
def extraction(request, monkeypatch):
    """Run a test with tarfile's "data" filter, and again as on a Python that lacks it."""
    if request.param.startswith("checks"):
        monkeypatch.delattr(tarfile, "data_filter", raising=False)


def test_download_extracts_the_archive(tmp_path, monkeypatch, extraction):
    requested = _serve(monkeypatch, _cifar_archive(tmp_path))
    root = tmp_path / "data"
    dataset = load_dataset("cifar10", root=root, heldout=1, verify_checksum=False)
    assert requested == [URL]
    assert dataset.train.shape == (15, 3, 32, 32)
    assert sorted(p.name for p in root.iterdir()) == [FOLDER]


def test_download_with_the_wrong_checksum_is_refused(tmp_path, monkeypatch):
    archive = _cifar_archive(tmp_path)
    _serve(monkeypatch, archive)
    root = tmp_path / "data"
    with pytest.raises(ConfigError, match=f"MD5 {hashlib.md5(archive).hexdigest()}.*verify_checksum=False"):
        load_dataset("cifar10", root=root, heldout=0)
    assert list(root.iterdir()) == []


def test_archive_escaping_its_folder_is_refused(tmp_path, monkeypatch, extraction):
    _serve(monkeypatch, _tar_gz({f"{FOLDER}/../../escaped": b"x"}))
    root = tmp_path / "a" / "data"
    with pytest.raises(ConfigError, match="could not extract"):
        load_dataset("cifar10", root=root, heldout=0, verify_checksum=False)
    assert not (tmp_path / "escaped").exists()


# ---------------------------------------------------------------- SVHN

def _write_svhn(folder: Path, counts=(5, 3)) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    arrays = {}
    for name, count in zip(("train_32x32.mat", "test_32x32.mat"), counts):
        arrays[name] = rng.integers(0, 256, (32, 32, 3, count), dtype=np.uint8)
        scipy.io.savemat(folder / name, {"X": arrays[name], "y": np.ones((count, 1), dtype=np.uint8)})
    return arrays


def test_svhn_reads_mat_files(tmp_path):
    arrays = _write_svhn(tmp_path)
    dataset = load_dataset("svhn", root=tmp_path, heldout=2, download=False)
    assert dataset.train.shape == (5, 3, 32, 32) and dataset.heldout.shape == (2, 3, 32, 32)
    np.testing.assert_array_equal(dataset.train[4, 1].numpy(), arrays["train_32x32.mat"][:, :, 1, 4])
    np.testing.assert_array_equal(dataset.heldout[1, 2].numpy(), arrays["test_32x32.mat"][:, :, 2, 1])


def test_svhn_missing_file_is_named(tmp_path):
    _write_svhn(tmp_path)
    (tmp_path / "test_32x32.mat").unlink()
    with pytest.raises(ConfigError, match=f"{tmp_path / 'test_32x32.mat'} not found.*download=True"):
        load_dataset("svhn", root=tmp_path, heldout=0, download=False)


def test_svhn_corrupt_file_is_named(tmp_path):
    _write_svhn(tmp_path)
    (tmp_path / "train_32x32.mat").write_bytes(b"not a mat file at all")
    with pytest.raises(ConfigError, match="train_32x32.mat"):
        load_dataset("svhn", root=tmp_path, heldout=0, download=False)


# ---------------------------------------------------------------- images

def _images(count=4, height=6, width=5) -> np.ndarray:
    return np.random.default_rng(2).integers(0, 256, (count, height, width, 3), dtype=np.uint8)


def test_image_folder_loads_in_name_order_with_heldout_from_the_end(tmp_path):
    pixels = _images()
    for index, image in enumerate(pixels):
        Image.fromarray(image).save(tmp_path / f"img{index}.png")
    (tmp_path / "notes.txt").write_text("ignored")
    dataset = load_dataset("images", root=tmp_path, heldout=1)
    assert dataset.train.shape == (3, 3, 6, 5) and dataset.heldout.shape == (1, 3, 6, 5)
    np.testing.assert_array_equal(dataset.train[2].numpy(), pixels[2].transpose(2, 0, 1))
    np.testing.assert_array_equal(dataset.heldout[0].numpy(), pixels[3].transpose(2, 0, 1))


def test_image_folder_of_mixed_sizes_is_refused(tmp_path):
    Image.fromarray(_images()[0]).save(tmp_path / "a.png")
    Image.fromarray(_images(height=7)[0]).save(tmp_path / "b.png")
    with pytest.raises(ConfigError, match="b.png is 5x7 but a.png is 5x6"):
        load_dataset("images", root=tmp_path, heldout=0)


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_npz_loads_either_layout(tmp_path, layout):
    pixels = _images()
    stored = pixels if layout == "NHWC" else pixels.transpose(0, 3, 1, 2)
    np.savez(tmp_path / "images.npz", images=stored)
    dataset = load_dataset("images", root=tmp_path / "images.npz", heldout=0)
    np.testing.assert_array_equal(dataset.train.numpy(), pixels.transpose(0, 3, 1, 2))


def test_grey_npz_becomes_rgb(tmp_path):
    grey = _images()[..., :1]
    np.savez(tmp_path / "grey.npz", grey)
    train = load_dataset("images", root=tmp_path / "grey.npz", heldout=0).train
    assert train.shape == (4, 3, 6, 5)
    assert torch.equal(train[:, 0], train[:, 2])


@pytest.mark.parametrize("arrays, message", [
    ({"a": np.zeros((2, 4, 4, 3), np.float32)}, "uint8"),
    ({"a": np.zeros((2, 4, 4, 3), np.uint8), "b": np.zeros(1)}, "exactly one"),
    ({"a": np.array([{"x": 1}], dtype=object)}, "could not read"),
])
def test_bad_npz_is_refused(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ConfigError, match=message):
        load_dataset("images", root=tmp_path / "bad.npz", heldout=0)


def test_images_need_a_root_and_leave_a_training_set(tmp_path):
    with pytest.raises(ConfigError, match="root=None"):
        load_dataset("images", root=None, heldout=0)
    np.savez(tmp_path / "few.npz", _images())
    with pytest.raises(ConfigError, match="heldout=4"):
        load_dataset("images", root=tmp_path / "few.npz", heldout=4)


# ---------------------------------------------------------------- Dataset

def test_sampling_is_reproducible_and_scaled(tmp_path):
    np.savez(tmp_path / "x.npz", _images(count=50))
    dataset = load_dataset("images", root=tmp_path / "x.npz", heldout=0)
    first = dataset.sample(16, torch.Generator().manual_seed(3))
    again = dataset.sample(16, torch.Generator().manual_seed(3))
    other = dataset.sample(16, torch.Generator().manual_seed(4))
    assert first.dtype == torch.float32 and first.shape == (16, 3, 6, 5)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert 0 <= first.min() and first.max() <= 1
    assert dataset.pixel_mean == pytest.approx(dataset.train.double().mean().item() / 255)
    torch.testing.assert_close(dataset.pixel_marginals, (dataset.train.double().mean(dim=0) / 255).float())
    train_batches = list(dataset.train_batches(16))
    assert [len(b) for b in train_batches] == [16, 16, 16, 2]
    assert torch.equal(torch.cat(train_batches), dataset.train / 255.0)


def test_heldout_batches_cover_the_heldout_split_in_order():
    heldout = torch.arange(14, dtype=torch.uint8).view(7, 2)
    dataset = Dataset("toy", heldout.clone(), heldout)
    batches = list(dataset.heldout_batches(3))
    assert [len(b) for b in batches] == [3, 3, 1]
    torch.testing.assert_close(torch.cat(batches), heldout / 255.0)
    assert list(Dataset("toy", heldout, heldout[:0]).heldout_batches(3)) == []


# ---------------------------------------------------------------- mixtures

def test_ring_centers():
    centers = mixture_centers("ring")
    assert centers.shape == (8, 2) and centers.dtype == torch.float32
    torch.testing.assert_close(centers.norm(dim=1), torch.full((8,), 2.0))
    angles = torch.atan2(centers[:, 1], centers[:, 0]).sort().values
    torch.testing.assert_close(angles.diff(), torch.full((7,), torch.pi / 4))
    assert mixture_std("ring") == 0.02


def test_grid_centers():
    centers = mixture_centers("grid")
    expected = {(x, y) for x in (-4.0, -2.0, 0.0, 2.0, 4.0) for y in (-4.0, -2.0, 0.0, 2.0, 4.0)}
    assert {tuple(c) for c in centers.tolist()} == expected and len(centers) == 25
    assert mixture_std("grid") == 0.05


@pytest.mark.parametrize("kind", ["ring", "grid"])
def test_mixture_samples_lie_near_the_modes_and_cover_them(kind):
    points = sample_mixture(kind, 4000, torch.Generator().manual_seed(0))
    distances = torch.cdist(points, mixture_centers(kind))
    assert points.shape == (4000, 2) and points.dtype == torch.float32
    assert distances.min(dim=1).values.max() < 6 * mixture_std(kind)
    assert len(distances.argmin(dim=1).unique()) == len(mixture_centers(kind))
    assert torch.equal(points, sample_mixture(kind, 4000, torch.Generator().manual_seed(0)))


def test_mixture_datasets_are_seeded():
    ring = load_dataset("ring", root=None, heldout=500, seed=1)
    assert ring.train.shape == (100_000, 2) and ring.heldout.shape == (500, 2) and ring.pixel_mean is None
    assert torch.equal(ring.heldout, load_dataset("ring", root=None, heldout=500, seed=1).heldout)
    assert not torch.equal(ring.train[:10], load_dataset("ring", root=None, heldout=0, seed=2).train[:10])
    assert load_dataset("grid", root=None, heldout=0).heldout.shape == (0, 2)


def test_unknown_mixture_lists_the_choices():
    with pytest.raises(ConfigError, match="ring, grid"):
        mixture_centers("spiral")


# ---------------------------------------------------------------- arguments

def test_unknown_dataset_lists_the_choices():
    with pytest.raises(ConfigError) as error:
        load_dataset("emnist", root=None, heldout=0)
    assert all(name in str(error.value) for name in DATASETS)


@pytest.mark.parametrize("arguments, key", [
    ({"heldout": -1}, "heldout"),
    ({"heldout": 1.5}, "heldout"),
    ({"heldout": 0, "device": "toaster"}, "device"),
    ({"heldout": 0, "seed": "one"}, "seed"),
])
def test_bad_arguments_are_config_errors(arguments, key):
    with pytest.raises(ConfigError, match=key):
        load_dataset("ring", root=None, **arguments)

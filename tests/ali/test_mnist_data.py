"""Tests of ali_opt.data.mnist: idx files built by hand (good and bad), splits, downloads, the shared subset."""
from __future__ import annotations

import gzip
import hashlib
import io
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from ali_opt.data import load_dataset
from ali_opt.data import mnist
from ali_opt.errors import ConfigError

SHARED_MNIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"
TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = mnist.FILES


def _idx(magic: int, shape: tuple[int, ...], values: bytes) -> bytes:
    """An idx file by hand: big-endian magic, one 4-byte size per dimension, the values."""
    return magic.to_bytes(4, "big") + b"".join(size.to_bytes(4, "big") for size in shape) + values


def _images(count: int, first: int) -> bytes:
    """``count`` 28x28 images whose pixel (i, j) of image n is (first + n + i + j) mod 256."""
    return bytes((first + n + i + j) % 256 for n in range(count) for i in range(28) for j in range(28))


def _write(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(gzip.compress(content))


def _mnist_files(train: int = 4, test: int = 3) -> dict[str, bytes]:
    """Decompressed idx files: train labels 0, 1, 2, ...; test labels 9, 8, 7, ..."""
    return {
        TRAIN_IMAGES: _idx(0x803, (train, 28, 28), _images(train, 0)),
        TRAIN_LABELS: _idx(0x801, (train,), bytes(n % 10 for n in range(train))),
        TEST_IMAGES: _idx(0x803, (test, 28, 28), _images(test, 100)),
        TEST_LABELS: _idx(0x801, (test,), bytes(9 - n % 10 for n in range(test))),
    }


def test_hand_built_files_decode_pixel_by_pixel_with_labels_and_splits(tmp_path):
    _write(tmp_path / "mnist", _mnist_files(train=4, test=3))
    dataset = load_dataset("mnist", root=tmp_path, heldout=2, validation=1, download=False)
    assert dataset.train.shape == (3, 1, 28, 28) and dataset.train.dtype == torch.uint8
    assert dataset.validation.shape == (1, 1, 28, 28) and dataset.heldout.shape == (2, 1, 28, 28)
    # training image n (n < 3) is (n + i + j) mod 256; the validation image is the last, n = 3;
    # the held-out images are the first two test images, (100 + n + i + j) mod 256
    assert dataset.train[2, 0, 5, 7].item() == 2 + 5 + 7
    assert dataset.validation[0, 0, 27, 27].item() == (3 + 27 + 27) % 256
    assert dataset.heldout[1, 0, 27, 26].item() == (100 + 1 + 27 + 26) % 256
    assert dataset.labels["train"].tolist() == [0, 1, 2] and dataset.labels["validation"].tolist() == [3]
    assert dataset.labels["heldout"].tolist() == [9, 8]
    batch = next(dataset.batches("heldout", 2))  # handed out in [0, 1], the decoder's sigmoid range
    assert batch[1, 0, 27, 26].item() == pytest.approx((100 + 1 + 27 + 26) / 255)


def test_the_folder_itself_is_accepted_as_root(tmp_path):
    _write(tmp_path / "mnist", _mnist_files())
    dataset = load_dataset("mnist", root=tmp_path / "mnist", heldout=0, download=False)
    assert dataset.train.shape == (4, 1, 28, 28)


def _error_for(tmp_path: Path, name: str, content: bytes, *, compress: bool = True) -> str:
    """The error message of loading a folder whose file ``name`` holds ``content``; checks the file is kept."""
    _write(tmp_path / "mnist", _mnist_files())
    path = tmp_path / "mnist" / name
    written = gzip.compress(content, mtime=0) if compress else content
    path.write_bytes(written)
    with pytest.raises(ConfigError) as error:
        load_dataset("mnist", root=tmp_path, heldout=0, download=False)
    assert path.read_bytes() == written  # nothing lost
    message = str(error.value)
    assert "\n" not in message and str(path) in message
    return message


def test_truncated_gzip_stream_is_one_clear_line(tmp_path):
    whole = gzip.compress(_mnist_files()[TRAIN_IMAGES])
    message = _error_for(tmp_path, TRAIN_IMAGES, whole[: len(whole) // 2], compress=False)
    assert "truncated or corrupt" in message


def test_idx_payload_shorter_than_its_header_promises_is_truncated(tmp_path):
    content = _mnist_files()[TEST_IMAGES][:-10]
    message = _error_for(tmp_path, TEST_IMAGES, content)
    assert "truncated" in message and f"promises {3 * 28 * 28} values" in message
    assert f"holds {3 * 28 * 28 - 10}" in message


def test_file_ending_inside_its_header_is_truncated(tmp_path):
    assert "ends inside its 16-byte header" in _error_for(tmp_path, TRAIN_IMAGES, _idx(0x803, (4,), b""))


@pytest.mark.parametrize("magic, shown", [(0x00000802, "0x00000802"), (0x1F8B0803, "0x1f8b0803")])
def test_wrong_magic_number_is_named(tmp_path, magic, shown):
    content = _idx(magic, (4, 28, 28), _images(4, 0))
    message = _error_for(tmp_path, TRAIN_IMAGES, content)
    assert f"magic number is {shown}" in message and "0x00000803" in message and "0x00000801" in message


def test_images_of_the_wrong_size_are_refused(tmp_path):
    message = _error_for(tmp_path, TRAIN_IMAGES, _idx(0x803, (4, 32, 32), bytes(4 * 32 * 32)))
    assert "(4, 32, 32)" in message and "(4, 28, 28)" in message


def test_labels_not_matching_the_images_in_count(tmp_path):
    message = _error_for(tmp_path, TEST_LABELS, _idx(0x801, (2,), bytes([1, 2])))
    assert "t10k-images-idx3-ubyte.gz holds 3 images" in message and "holds 2 labels" in message


def test_label_outside_0_to_9_is_refused(tmp_path):
    message = _error_for(tmp_path, TRAIN_LABELS, _idx(0x801, (4,), bytes([0, 1, 10, 3])))
    assert "label 10" in message and "0..9" in message


def test_missing_file_without_download_is_named_and_stays_offline(tmp_path, monkeypatch):
    requested = _serve(monkeypatch, {})
    files = _mnist_files()
    del files[TRAIN_LABELS]
    _write(tmp_path / "mnist", files)
    with pytest.raises(ConfigError) as error:
        load_dataset("mnist", root=tmp_path, heldout=0, download=False)
    assert str(tmp_path / "mnist" / TRAIN_LABELS) in str(error.value) and "download=True" in str(error.value)
    assert requested == []


class _FakeResponse(io.BytesIO):
    def __init__(self, payload: bytes):
        super().__init__(payload)
        self.headers = {"Content-Length": str(len(payload))}


def _serve(monkeypatch, payloads: dict[str, bytes]) -> list[str]:
    """Make urlopen serve ``payloads`` by file name; returns the URLs requested."""
    requested = []

    def urlopen(url, timeout):
        requested.append(url)
        return _FakeResponse(payloads[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return requested


def test_missing_files_are_downloaded_and_checked_against_their_md5(tmp_path, monkeypatch):
    payloads = {name: gzip.compress(content) for name, content in _mnist_files().items()}
    monkeypatch.setattr(mnist, "FILES", {name: hashlib.md5(data).hexdigest() for name, data in payloads.items()})
    _write(tmp_path / "mnist", {TRAIN_IMAGES: _mnist_files()[TRAIN_IMAGES]})  # one present: not fetched
    requested = _serve(monkeypatch, payloads)
    dataset = load_dataset("mnist", root=tmp_path, heldout=3)
    assert requested == [mnist.BASE_URL + name for name in (TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)]
    assert dataset.train.shape == (4, 1, 28, 28) and dataset.labels["heldout"].tolist() == [9, 8, 7]


def test_a_download_with_the_wrong_md5_is_refused_and_not_kept(tmp_path, monkeypatch):
    payloads = {name: gzip.compress(content) for name, content in _mnist_files().items()}
    _serve(monkeypatch, payloads)  # the published MD5s are those of the real files, not of these
    with pytest.raises(ConfigError, match=f"MD5 {hashlib.md5(payloads[TRAIN_IMAGES]).hexdigest()}.*"
                                          f"{mnist.FILES[TRAIN_IMAGES]}.*verify_checksum=False"):
        load_dataset("mnist", root=tmp_path, heldout=0)
    assert list((tmp_path / "mnist").iterdir()) == []
    dataset = load_dataset("mnist", root=tmp_path, heldout=0, verify_checksum=False)
    assert dataset.train.shape == (4, 1, 28, 28)


def test_the_published_md5s_are_the_official_ones():
    assert mnist.FILES == {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }


@pytest.fixture
def shared_mnist() -> Path:
    if not SHARED_MNIST.is_dir():
        pytest.skip(f"the shared MNIST subset is absent ({SHARED_MNIST})")
    return SHARED_MNIST


def test_shared_subset_loads_whole_without_checking_files_on_disk(shared_mnist, monkeypatch):
    requested = _serve(monkeypatch, {})
    dataset = load_dataset("mnist", root=shared_mnist.parent, heldout=2000, validation=500)  # download allowed
    assert requested == []  # its MD5s differ from the official ones: files on disk are not checked
    assert (len(dataset.train), len(dataset.validation), len(dataset.heldout)) == (7500, 500, 2000)
    counts = torch.bincount(torch.cat([dataset.labels["train"], dataset.labels["validation"]]), minlength=10)
    assert counts.sum() == 8000 and counts.min() >= 711 and counts.max() <= 906  # as ../shared/README.md says
    with gzip.open(shared_mnist / TEST_IMAGES) as file:
        first = np.frombuffer(file.read(), np.uint8, offset=16)[:784].reshape(28, 28)
    assert torch.equal(dataset.heldout[0, 0], torch.from_numpy(first.copy()))
    assert 0.1 < dataset.pixel_mean < 0.15  # white digits on black: most pixels are 0

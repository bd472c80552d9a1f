"""Turning the ``device`` config value into a torch device."""
from __future__ import annotations

import re

import torch

from ..errors import ConfigError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N")


def resolve_device(name: str) -> torch.device:
    """``auto`` is CUDA when present, else the CPU; ``cuda`` and ``cuda:N`` require a GPU."""
    if not isinstance(name, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", name):
        raise ConfigError(f"device={name!r} is not valid; choose one of: {', '.join(DEVICE_CHOICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device={name!r} is not available: this machine has no CUDA GPU; use device=cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device={name!r} is not available: this machine has {torch.cuda.device_count()} GPU(s)")
    return device


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); a no-op on the CPU, whose work is already done."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)

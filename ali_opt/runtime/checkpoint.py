"""Writing checkpoints atomically and reading them back safely (``weights_only=True``)."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from ..errors import ConfigError

FORMAT = "ali-opt-checkpoint/1"
FILENAME = "checkpoint.pt"


def save_checkpoint(path: Path, payload: dict) -> None:
    """Write ``payload`` to ``path`` via a temporary file and a rename, so a crash mid-write
    leaves the previous checkpoint intact."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, **payload}, temporary)
    with open(temporary, "rb") as written:
        os.fsync(written.fileno())
    os.replace(temporary, path)


def checkpoint_path(run_or_file: str | Path) -> Path:
    """The checkpoint of a run folder, or the file itself when given one."""
    path = Path(run_or_file).expanduser()
    return path / FILENAME if path.is_dir() else path


def load_checkpoint(run_or_file: str | Path, key: str = "resume") -> dict:
    """Load a checkpoint written by :func:`save_checkpoint`; one clear ConfigError otherwise,
    naming the config ``key`` that gave the path."""
    path = checkpoint_path(run_or_file)
    if not path.is_file():
        raise ConfigError(f"{key}={str(run_or_file)!r}: no checkpoint found at {path}; give a run folder holding {FILENAME}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for truncated or foreign files
        raise ConfigError(
            f"{key}={str(run_or_file)!r}: {path} is truncated, corrupt or not a checkpoint ({type(error).__name__})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ConfigError(f"{key}={str(run_or_file)!r}: {path} is not an ali-opt checkpoint (expected format {FORMAT})")
    return payload

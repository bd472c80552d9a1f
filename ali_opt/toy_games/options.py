"""Checks shared by the toy games' options; each reports its key as ``game_options.<name>``."""
from __future__ import annotations

import math

import torch

from ali_opt.errors import ConfigError, check_choice

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def option_key(name: str) -> str:
    """How an option is named in messages: the study's config key for it."""
    return f"game_options.{name}"


def dtype_option(value) -> torch.dtype:
    """The torch dtype called ``value`` (``"float32"`` or ``"float64"``)."""
    return DTYPES[check_choice(option_key("dtype"), value, DTYPES)]


def seed_option(value) -> int:
    """A seed: an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{option_key('seed')}={value!r} is not valid; it must be an integer >= 0")
    return value


def real_option(name: str, value) -> float:
    """Any finite real number (a starting coordinate)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{option_key(name)}={value!r} is not valid; it must be a finite number")
    return float(value)

"""The one exception users see for bad input, and the checks that raise it."""
from __future__ import annotations

import math
from collections.abc import Iterable


class ConfigError(ValueError):
    """Bad user input: one line naming the key, the value and what would be valid.

    A plain ValueError: nothing here imports Sacred. A study's command line
    (:func:`ali_opt.runtime.sacred_setup.run_commandline`) prints it as that one line, with
    no traceback, and exits non-zero.
    """


def check_bool(key: str, value) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}={value!r} is not valid; it must be true or false")
    return value


def check_choice(key: str, value, choices: Iterable[str]):
    choices = tuple(choices)
    if value not in choices:
        raise ConfigError(f"{key}={value!r} is not valid; choose one of: {', '.join(choices)}")
    return value


def check_positive(key: str, value, *, integer: bool = False):
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
        what = "a positive integer" if integer else "a positive number"
        raise ConfigError(f"{key}={value!r} is not valid; it must be {what}")
    return value


def check_integer(key: str, value, minimum: int = 0, note: str = ""):
    """An integer >= ``minimum`` (booleans refused); ``note`` says what special values mean, e.g. "0: off"."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key}={value!r} is not valid; it must be an integer >= {minimum}" + (f" ({note})" if note else ""))
    return value


def check_count_or_auto(key: str, value, auto_meaning: str) -> int | None:
    """An integer >= 1, or automatic: ``None`` or ``"auto"`` (returned as ``None``), whose
    meaning the message states. (``None`` makes a good Sacred default: Sacred warns when a
    value's type changes, except from ``None``.)"""
    if value is None or value == "auto":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{key}={value!r} is not valid; it must be an integer >= 1, or 'auto' / None ({auto_meaning})")
    return value


def check_real(key: str, value):
    """Any finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{key}={value!r} is not valid; it must be a finite number")
    return value


def check_nonnegative(key: str, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(f"{key}={value!r} is not valid; it must be a number >= 0")
    return value


def check_fraction(key: str, value, *, closed_low: bool = True):
    """A value in [0, 1) (or (0, 1) with closed_low=False), as betas and EMA rates must be."""
    interval = "[0, 1)" if closed_low else "(0, 1)"
    is_number = not isinstance(value, bool) and isinstance(value, (int, float))
    if not (is_number and (value >= 0 if closed_low else value > 0) and value < 1):
        raise ConfigError(f"{key}={value!r} is not valid; it must lie in {interval}")
    return value

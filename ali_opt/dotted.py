"""Dotted keys of nested config dicts (``optimizer.lr.g``, ``data.root``): flattening and lookup.

No imports from the rest of the package, so that the run config (:mod:`ali_opt.config`), the
run records and the executors' plumbing share one way to walk a config.
"""
from __future__ import annotations

from collections.abc import Mapping


def flatten(config: Mapping, prefix: str = "", keep_whole: tuple[str, ...] = ("optimizer",)) -> dict:
    """``config`` as one level of dotted keys; the sub-dicts named in ``keep_whole`` stay whole values."""
    flat = {}
    for key, value in config.items():
        if isinstance(value, Mapping) and value and f"{prefix}{key}" not in keep_whole:
            flat.update(flatten(value, f"{prefix}{key}.", keep_whole))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


MISSING = object()
"""What :func:`lookup` returns for a key the config does not hold."""


def lookup(config: Mapping, key: str, default=MISSING):
    """The value of the dotted ``key`` in ``config``, or ``default``."""
    value = config
    for name in key.split("."):
        if not isinstance(value, Mapping) or name not in value:
            return default
        value = value[name]
    return value

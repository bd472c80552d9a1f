"""Reads pickles of numpy arrays, such as the CIFAR-10 batches, without running foreign code.

A plain ``pickle.load`` calls whatever function a file names. The unpickler here resolves
only the globals that arrays need (numpy's array rebuilding, and latin-1 encoding of bytes);
any other name (``os.system``, ``builtins.eval``, ...) stops the load with a
:class:`~ali_opt.errors.ConfigError` naming the file.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from ali_opt.errors import ConfigError

_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]  # numpy's array-rebuilding function


class ForbiddenGlobal(pickle.UnpicklingError):
    """The pickle names a global outside the allowed ones."""


def _latin1_encode(text: str, encoding: str) -> bytes:
    """``_codecs.encode`` as Python 3 uses it to store bytes in protocol 2, for latin-1 only."""
    if encoding not in ("latin1", "latin-1"):
        raise ForbiddenGlobal(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,  # written by numpy < 2
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,  # written by numpy >= 2
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,  # bytes in protocol-2 pickles written by Python 3
}


class _NumpyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[module, name]
        except KeyError:
            raise ForbiddenGlobal(f"{module}.{name}") from None


def load_numpy_pickle(path: Path):
    """The object pickled in ``path``; Python 2 strings are decoded as latin-1, as numpy needs.

    Raises ConfigError naming the file when it refers to anything but numpy arrays, or cannot
    be read (truncated, corrupt, unreadable).
    """
    try:
        with open(path, "rb") as file:
            return _NumpyUnpickler(file, encoding="latin1").load()
    except ForbiddenGlobal as error:
        raise ConfigError(
            f"refusing to load {path}: it calls {error}, which no data file needs (the file is not what it claims "
            "to be; delete it)"
        ) from None
    except Exception as error:  # unpickling damaged data fails with assorted exception types
        raise ConfigError(
            f"could not read {path} ({type(error).__name__}: {error}); the file is truncated or corrupt: delete it "
            "and download the data again"
        ) from None

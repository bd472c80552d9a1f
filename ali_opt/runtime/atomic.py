"""Files replaced whole: a reader, or a process killed mid-write, sees the old file or the new
one, never half of one."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def write_atomically(path: str | Path, write: Callable[[IO], None], *, binary: bool = False,
                     mode: int | None = None, exclusive: bool = False) -> None:
    """``write(file)`` into a temporary file beside ``path`` (its folder made if missing), then
    renamed onto ``path`` with ``os.replace``; the temporary file goes if ``write`` fails.
    ``mode`` sets the file's permissions (``mkstemp`` makes it readable by its owner only).
    ``exclusive``: never over an existing ``path`` (``FileExistsError``, the file untouched):
    the finished file is hard-linked into place instead of renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if mode is not None:
            os.fchmod(handle, mode)
        with os.fdopen(handle, "wb" if binary else "w") as file:
            write(file)
        if exclusive:
            os.link(temporary, path)
        else:
            os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)

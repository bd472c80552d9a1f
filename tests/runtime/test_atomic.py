"""Files replaced whole: the old content survives a write that fails, and no temporary file stays."""
from __future__ import annotations

import pytest

from ali_opt.runtime.atomic import write_atomically


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "sub" / "file.json"
    write_atomically(path, lambda file: file.write("old"))
    assert path.read_text() == "old"

    def fail(file):
        file.write("half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        write_atomically(path, fail)
    assert path.read_text() == "old" and [p.name for p in path.parent.iterdir()] == ["file.json"]
    write_atomically(path, lambda file: file.write(b"new"), binary=True, mode=0o644)
    assert path.read_bytes() == b"new" and path.stat().st_mode & 0o777 == 0o644


def test_an_exclusive_write_never_replaces_an_existing_file(tmp_path):
    path = tmp_path / "attempt1.json"
    write_atomically(path, lambda file: file.write("first"), exclusive=True)
    with pytest.raises(FileExistsError):
        write_atomically(path, lambda file: file.write("second"), exclusive=True)
    assert path.read_text() == "first" and [p.name for p in tmp_path.iterdir()] == ["attempt1.json"]

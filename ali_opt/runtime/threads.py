"""Running a block with a given number of torch CPU threads."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(count: int | str | None) -> Iterator[None]:
    """Run the block with ``count`` torch CPU threads (``None`` or ``"auto"``: leave torch's
    count as it is), restoring it after."""
    before = torch.get_num_threads()
    if count not in (None, "auto"):
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)

"""``executor=local``: ``workers`` cells at once on this machine, a process each, through
:class:`concurrent.futures.ThreadPoolExecutor` (a worker thread waits on its cell's process)."""
from __future__ import annotations

import queue
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

import torch

from ..errors import ConfigError
from .cell_process import Attempt, run_attempt

Finished = tuple[Attempt, "int | None", str]
"""An attempt, its exit status (None when it could not run) and the error that stopped it."""


def gpu_slots(workers: int) -> list[int | None]:
    """The GPU of each worker slot: one each when CUDA is present, none otherwise.

    Raises :class:`ConfigError` when there are fewer GPUs than workers."""
    if not torch.cuda.is_available():
        return [None] * workers
    count = torch.cuda.device_count()
    if workers > count:
        raise ConfigError(f"workers={workers} is not valid here: each worker takes one GPU and this machine has "
                          f"{count}; give workers <= {count}")
    return list(range(workers))


def run_local(attempts: Sequence[Attempt], workers: int) -> Iterator[Finished]:
    """Run ``attempts``, ``workers`` at a time, yielding each as it finishes."""
    free = queue.Queue()
    for slot in gpu_slots(workers):
        free.put(slot)

    def run(attempt: Attempt) -> int:
        gpu = free.get()
        try:
            return run_attempt(attempt, gpu)
        finally:
            free.put(gpu)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cell") as pool:
        futures = {pool.submit(run, attempt): attempt for attempt in attempts}
        for future in as_completed(futures):
            try:
                yield futures[future], future.result(), ""
            except Exception as error:  # the process could not be started (missing python, full disk, ...)
                yield futures[future], None, f"could not run: {type(error).__name__}: {error}"

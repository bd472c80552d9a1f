"""``executor=local``: ``workers`` cells at once on this machine, a process each, through
:class:`concurrent.futures.ThreadPoolExecutor` (a worker thread waits on its cell's process).

When the sweep stops early (Ctrl-C, SIGTERM to the sweep's process, an error in the parent)
the cells not yet started are cancelled and the running ones get SIGTERM, on which training
writes a checkpoint and stops: the next run of the sweep resumes them.
"""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

import torch

from ...errors import ConfigError
from .cell_process import Attempt, run_attempt

Finished = tuple[Attempt, "int | None", str]
"""An attempt, its exit status (None when it could not run) and the error that stopped it."""


def gpu_slots(workers: int) -> list[str | None]:
    """The GPU of each worker slot (as CUDA_VISIBLE_DEVICES names it): one each among the GPUs
    this process sees when CUDA is present, none otherwise.

    Raises :class:`ConfigError` when there are fewer GPUs than workers."""
    if not torch.cuda.is_available():
        return [None] * workers
    count = torch.cuda.device_count()
    if workers > count:
        raise ConfigError(f"workers={workers} is not valid here: each worker takes one GPU and this machine has "
                          f"{count}; give workers <= {count}")
    visible = [name.strip() for name in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if name.strip()]
    return (visible or [str(index) for index in range(count)])[:workers]


def run_local(attempts: Sequence[Attempt], workers: int) -> Iterator[Finished]:
    """Run ``attempts``, ``workers`` at a time, yielding each as it finishes."""
    free = queue.Queue()
    for slot in gpu_slots(workers):
        free.put(slot)
    running: set[subprocess.Popen] = set()
    lock, stopping = threading.Lock(), threading.Event()

    def started(process: subprocess.Popen) -> None:
        with lock:
            running.add(process)
            if stopping.is_set():
                process.send_signal(signal.SIGTERM)

    def run(attempt: Attempt) -> int:
        gpu = free.get()
        try:
            return run_attempt(attempt, gpu, started)
        finally:
            free.put(gpu)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cell")
    finished_normally = False
    try:
        futures = {pool.submit(run, attempt): attempt for attempt in attempts}
        for future in as_completed(futures):
            try:
                yield futures[future], future.result(), ""
            except Exception as error:  # the process could not be started (missing python, full disk, ...)
                yield futures[future], None, f"could not run: {type(error).__name__}: {error}"
        finished_normally = True
    finally:
        if not finished_normally:
            pool.shutdown(wait=False, cancel_futures=True)
            with lock:
                stopping.set()
                for process in running:
                    if process.poll() is None:
                        process.send_signal(signal.SIGTERM)
        pool.shutdown(wait=True)

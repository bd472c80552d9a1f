"""Signals: SIGINT/SIGTERM as a request the training loop honours at the end of a step, or as
KeyboardInterrupt for a sweep."""
from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def stop_requests() -> Iterator[Callable[[], bool]]:
    """Yields ``requested()``, true once SIGINT or SIGTERM arrived; the old handlers return on exit.

    Outside the main thread (where Python cannot install handlers) nothing is caught.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    previous = {sig: signal.signal(sig, lambda signum, frame: received.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: bool(received)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def sigterm_as_keyboard_interrupt() -> Iterator[None]:
    """In the main thread, SIGTERM raises KeyboardInterrupt as Ctrl-C does, so that a sweep
    stopped with ``kill`` (or by a batch system) stops its cells too; the old handler returns
    on exit. Outside the main thread nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

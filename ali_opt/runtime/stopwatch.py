"""Wall-clock and process CPU time of training alone, with evaluation paused out."""
from __future__ import annotations

import time
from contextlib import contextmanager


class Stopwatch:
    """Accumulates wall and CPU seconds while running; ``paused()`` excludes a block.

    Starts from ``wall`` and ``cpu`` seconds so a resumed run continues its clocks.
    """

    def __init__(self, wall: float = 0.0, cpu: float = 0.0):
        self._start_from(wall, cpu)

    def _start_from(self, wall: float, cpu: float) -> None:
        self._wall_before, self._cpu_before = wall, cpu
        self._wall_start, self._cpu_start = time.perf_counter(), time.process_time()

    def elapsed(self) -> tuple[float, float]:
        """(wall seconds, CPU seconds) counted so far."""
        return (self._wall_before + time.perf_counter() - self._wall_start,
                self._cpu_before + time.process_time() - self._cpu_start)

    @contextmanager
    def paused(self):
        wall, cpu = self.elapsed()
        try:
            yield
        finally:
            self._start_from(wall, cpu)

"""Run-time plumbing, kept apart from the domain (games, models, data, metrics).

One process: ``devices`` (``device=auto``, synchronisation), ``threads`` (torch CPU threads),
``allocator`` (glibc keeps freed memory on CPU runs), ``stopwatch`` (wall and CPU clocks that
pause), ``interrupts`` (SIGINT/SIGTERM become a checkpoint and a clean stop), ``rng`` (every
generator's state, for bitwise resume), ``checkpoint`` (atomic writes, ``weights_only`` reads)
and ``sacred_setup`` (where runs are recorded).

Many processes: :mod:`ali_opt.runtime.executors` trains a list of cells on this machine or as
SLURM jobs; its API is re-exported here.
"""
from .executors import (
    DONE, EXECUTOR_DEFAULTS, EXECUTOR_KEYS, FAILED, RESUMED, SKIPPED, Cell, CellKeys, CellOutcome, ExecutorConfig,
    run_cells, slurm_problem,
)

__all__ = ["Cell", "CellKeys", "CellOutcome", "DONE", "SKIPPED", "RESUMED", "FAILED", "ExecutorConfig",
           "EXECUTOR_DEFAULTS", "EXECUTOR_KEYS", "slurm_problem", "run_cells"]

"""Running many training runs (cells) at once: on this machine or as SLURM jobs.

:func:`run_cells` trains a list of :class:`Cell` (each a named config of the Sacred experiment
the caller names, with the :class:`CellKeys` of its config that the executor reads and sets)
on this machine (``executor=local``) or as SLURM jobs through submitit (``executor=slurm``)
and returns one :class:`CellOutcome` per cell. Re-running the same cells skips the finished
ones and resumes the interrupted ones from their checkpoints.
"""
from .cells import DONE, FAILED, RESUMED, SKIPPED, Cell, CellKeys, CellOutcome
from .executor_config import EXECUTOR_DEFAULTS, EXECUTOR_KEYS, ExecutorConfig, slurm_problem
from .cell_runner import run_cells

__all__ = ["Cell", "CellKeys", "CellOutcome", "DONE", "SKIPPED", "RESUMED", "FAILED", "ExecutorConfig",
           "EXECUTOR_DEFAULTS", "EXECUTOR_KEYS", "slurm_problem", "run_cells"]

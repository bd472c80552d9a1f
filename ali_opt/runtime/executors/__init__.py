"""Running many training runs (cells) at once: on this machine or as SLURM jobs.

:func:`run_cells` trains a list of :class:`Cell` (each a named config of ``studies.train_ali``)
on this machine (``executor=local``) or as SLURM jobs through submitit (``executor=slurm``)
and returns one :class:`CellOutcome` per cell. Re-running the same cells skips the finished
ones and resumes the interrupted ones from their checkpoints.
"""
from .cells import DONE, FAILED, RESUMED, SKIPPED, Cell, CellOutcome
from .executor_config import EXECUTOR_DEFAULTS, EXECUTOR_KEYS, ExecutorConfig, executor_config, slurm_problem
from .sweep import run_cells

__all__ = ["Cell", "CellOutcome", "DONE", "SKIPPED", "RESUMED", "FAILED", "ExecutorConfig", "EXECUTOR_DEFAULTS",
           "EXECUTOR_KEYS", "executor_config", "slurm_problem", "run_cells"]

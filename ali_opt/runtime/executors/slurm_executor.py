"""``executor=slurm``: each cell a task of a SLURM job array, submitted through submitit.

The job runs the same process as a local worker (:func:`~.cell_process.run_attempt`),
so the run folders land in the cells' ``output`` on the shared file system. Without
SLURM accounting ``sacct`` fails and submitit reads job states as UNKNOWN; results still
arrive through submitit's result files, and a job that leaves the queue without one
(cancelled, out of time, node lost) is found with ``squeue`` and reported as failed.
When the sweep stops early (Ctrl-C) its unfinished jobs are cancelled (``scancel``: a
running cell gets SIGTERM, checkpoints and stops), so that a re-run starts no twin.
"""
from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import submitit

from .cell_process import Attempt, run_attempt
from .executor_config import SlurmOptions
from .local_executor import Finished

POLL_S = 2.0
"""Seconds between looks at the jobs' result files."""

QUEUE_CHECK_S = 30.0
"""Seconds between ``squeue`` calls that look for jobs gone without a result."""


def run_slurm(attempts: Sequence[Attempt], options: SlurmOptions, folder: Path) -> Iterator[Finished]:
    """Submit ``attempts`` as one job array (at most ``options.array_parallelism`` running at
    once), yielding each attempt as its job finishes."""
    executor = submitit.SlurmExecutor(folder=Path(folder), max_num_timeout=0)
    parameters = dict(job_name="ali-opt-cell", time=options.time_min, cpus_per_task=options.cpus_per_task,
                      array_parallelism=options.array_parallelism)
    if options.partition:
        parameters["partition"] = options.partition
    if options.gpus_per_task:
        parameters["gpus_per_task"] = options.gpus_per_task
    if options.sbatch:
        parameters["additional_parameters"] = dict(options.sbatch)
    executor.update_parameters(**parameters)
    jobs = executor.map_array(run_attempt, list(attempts))
    pending = dict(zip(jobs, attempts))
    try:
        yield from _collect(pending)
    finally:
        for job in pending:  # stopped early (Ctrl-C): no job of this sweep is left behind
            job.cancel(check=False)


def _collect(pending: dict) -> Iterator[Finished]:
    """Yield each job's attempt as the job finishes, removing it from ``pending``."""
    missing_once: set[str] = set()
    next_queue_check = time.monotonic() + QUEUE_CHECK_S
    while pending:
        for job in [job for job in pending if job.paths.result_pickle.exists()]:
            attempt = pending.pop(job)
            try:
                yield attempt, job.result(), ""
            except Exception as error:  # submitit re-raises the job's failure here
                yield attempt, None, f"SLURM job {job.job_id} failed: {_last_line(error)}"
        if pending and time.monotonic() >= next_queue_check:
            queued = _queued_job_ids()
            for job in [job for job in pending if queued is not None and job.job_id not in queued]:
                if job.paths.result_pickle.exists():
                    continue
                if job.job_id in missing_once:  # gone at two looks in a row: it ended without a result
                    why = (f"SLURM job {job.job_id} left the queue without a result (cancelled, out of time, "
                           f"or its node failed); see {job.paths.stdout}")
                    yield pending.pop(job), None, why
                else:
                    missing_once.add(job.job_id)
            next_queue_check = time.monotonic() + QUEUE_CHECK_S
        if pending:
            time.sleep(POLL_S)


def _queued_job_ids() -> set[str] | None:
    """The ids (``123_4``) of this user's jobs and array tasks still pending or running; None
    when squeue fails."""
    try:
        answer = subprocess.run(["squeue", "--me", "--noheader", "--array", "--format=%i"],
                                capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if answer.returncode != 0:
        return None
    return {line.strip() for line in answer.stdout.splitlines() if line.strip()}


def _last_line(error: Exception) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__

"""The executor config of a sweep: where and how many cells run at once, checked in one place
(:meth:`ExecutorConfig.from_config`, which a study calls from its config hook).

Keys (a plain dict, as a Sacred study holds it; see :data:`EXECUTOR_DEFAULTS`):

- ``executor``: ``local`` (this machine, a process per cell) or ``slurm`` (a SLURM job per
  cell, through submitit);
- ``workers``: cells run at once by ``local`` (each on its own GPU when CUDA is present),
  an integer >= 1, or automatic (``None``, the default, or ``"auto"``): one per GPU when CUDA
  is present, else one per CPU core;
- ``threads``: torch CPU threads of each cell, an integer >= 1, or automatic: the machine's
  cores divided by ``workers`` (``local``) or ``slurm.cpus_per_task`` (``slurm``);
- ``slurm``: ``partition`` ("" for the cluster's default), ``time_min`` (a job's time
  limit in minutes), ``cpus_per_task``, ``gpus_per_task``, ``array_parallelism`` (jobs
  of the array running at once) and ``sbatch`` (any other sbatch options, such as
  ``{"qos": "high", "mem": "8G"}``). Only for ``executor=slurm``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from ...errors import ConfigError, check_choice, check_count_or_auto, check_positive

EXECUTORS = ("local", "slurm")

SLURM_DEFAULTS = {"partition": "", "time_min": 60, "cpus_per_task": 1, "gpus_per_task": 0,
                  "array_parallelism": 64, "sbatch": {}}

EXECUTOR_DEFAULTS = {"executor": "local", "workers": None, "threads": None, "slurm": SLURM_DEFAULTS}
"""The executor keys and their defaults."""

EXECUTOR_KEYS = tuple(EXECUTOR_DEFAULTS)


@dataclass(frozen=True)
class SlurmOptions:
    partition: str = ""
    time_min: int = 60
    cpus_per_task: int = 1
    gpus_per_task: int = 0
    array_parallelism: int = 64
    sbatch: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ExecutorConfig:
    """A checked executor config (build it with :meth:`from_config`)."""

    executor: str = "local"
    workers: int = 1
    """Resolved: a count, never automatic."""
    threads: int | None = None
    """``None``: automatic, resolved per cell by :meth:`threads_per_cell`."""
    slurm: SlurmOptions = field(default_factory=SlurmOptions)

    @classmethod
    def from_config(cls, values: Mapping | None = None) -> ExecutorConfig:
        """``values`` (any subset of :data:`EXECUTOR_KEYS`) checked and completed with the defaults.

        Raises :class:`ConfigError`, one line naming the key, for an unknown key or executor, a
        value of the wrong type or range, SLURM options with ``executor=local``, and
        ``executor=slurm`` where SLURM cannot be reached.
        """
        values = dict(values or {})
        _check_known("executor config", values, EXECUTOR_KEYS)
        executor = check_choice("executor", values.get("executor", "local"), EXECUTORS)
        workers = check_count_or_auto("workers", values.get("workers"),
                                      "one per GPU when CUDA is present, else one per CPU core")
        workers = automatic_workers() if workers is None else workers
        threads = check_count_or_auto("threads", values.get("threads"),
                                      "the cores divided among the cells running at once")
        given = values.get("slurm") or {}
        if not isinstance(given, dict):
            raise ConfigError(f"slurm={given!r} is not valid; it must be a dict of SLURM options "
                              f"({', '.join(SLURM_DEFAULTS)})")
        slurm = _slurm_options(given)
        if executor == "local":
            changed = [key for key, value in given.items() if value != SLURM_DEFAULTS[key]]
            if changed:
                raise ConfigError(f"slurm.{changed[0]}={given[changed[0]]!r} is set but executor='local'; "
                                  "set executor=slurm to submit SLURM jobs, or leave the slurm options out")
        else:
            problem = slurm_problem()
            if problem:
                raise ConfigError(f"executor='slurm' is not available here: {problem}; use executor=local, "
                                  "or run the sweep on a machine that can submit SLURM jobs")
        return cls(executor, workers, threads, slurm)

    def threads_per_cell(self) -> int:
        """The torch threads each cell gets (``threads``, or its share of the cores when automatic)."""
        if self.threads:
            return self.threads
        if self.executor == "slurm":
            return self.slurm.cpus_per_task
        return max(1, (os.cpu_count() or 1) // self.workers)


def oversubscription(config: ExecutorConfig) -> str:
    """A warning when ``executor=local`` runs more CPU threads at once than this machine has
    cores ("" otherwise): measured on 2 cores, two cells of 2 threads each ran 5 times slower
    each than one alone."""
    if config.executor != "local" or torch.cuda.is_available():
        return ""
    cores = os.cpu_count() or 1
    threads = config.workers * config.threads_per_cell()
    if threads <= cores:
        return ""
    return (f"workers={config.workers} x threads={config.threads_per_cell()} runs {threads} CPU threads on {cores} "
            f"cores: every cell will run several times slower; keep workers x threads <= {cores} "
            "(leave both unset for one thread per core)")


def automatic_workers() -> int:
    """Automatic ``workers``: one worker per GPU when CUDA is present, else one per CPU core (with
    automatic ``threads``, one thread each: on 2 cores, 2 x 1 ran more cells per hour than 1 x 2,
    see the README's sweep throughput)."""
    if torch.cuda.is_available():
        return torch.cuda.device_count()
    return os.cpu_count() or 1


def slurm_problem() -> str:
    """Why SLURM jobs cannot be submitted from here ("" when they can): ``sbatch`` is not
    on PATH, or ``sinfo`` cannot reach the controller."""
    if shutil.which("sbatch") is None:
        return "sbatch is not on PATH"
    if shutil.which("sinfo") is None:
        return "sinfo is not on PATH"
    try:
        answer = subprocess.run(["sinfo", "--noheader"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"sinfo failed ({error})"
    if answer.returncode != 0:
        reason = (answer.stderr.strip().splitlines() or ["no message"])[-1]
        return f"sinfo cannot reach the SLURM controller ({reason})"
    return ""


def _slurm_options(given: dict) -> SlurmOptions:
    _check_known("slurm options", given, SLURM_DEFAULTS, prefix="slurm.")
    options = {**SLURM_DEFAULTS, **given}
    if not isinstance(options["partition"], str):
        raise ConfigError(f"slurm.partition={options['partition']!r} is not valid; it must be a partition "
                          "name, or \"\" for the cluster's default")
    for key in ("time_min", "cpus_per_task", "array_parallelism"):
        check_positive(f"slurm.{key}", options[key], integer=True)
    gpus = options["gpus_per_task"]
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
        raise ConfigError(f"slurm.gpus_per_task={gpus!r} is not valid; it must be an integer >= 0")
    sbatch = options["sbatch"]
    if not isinstance(sbatch, dict) or not all(isinstance(key, str) and isinstance(value, (str, int, float))
                                               and not isinstance(value, bool) for key, value in sbatch.items()):
        raise ConfigError(f"slurm.sbatch={sbatch!r} is not valid; it must map sbatch option names to values, "
                          'such as {"qos": "high", "mem": "8G"}')
    return SlurmOptions(**{**options, "sbatch": dict(sbatch)})


def _check_known(what: str, values: dict, known, prefix: str = "") -> None:
    for key in values:
        if key not in known:
            raise ConfigError(f"{prefix}{key}={values[key]!r}: unknown key in the {what}; valid keys: "
                              f"{', '.join(prefix + name for name in known)}")

""":func:`run_cells`: train a list of cells on the configured executor, idempotently."""
from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from contextlib import closing
from datetime import datetime
from pathlib import Path

from tqdm import tqdm

from ...errors import ConfigError
from ..interrupts import sigterm_as_keyboard_interrupt
from .cell_process import Attempt, describe_exit, import_root, prepare_attempt
from .cells import DONE, FAILED, RESUMED, SKIPPED, Cell, CellKeys, CellOutcome
from .executor_config import ExecutorConfig, oversubscription
from .local_executor import gpu_slots, run_local
from .run_records import Plan, RunRecord, cell_runs, check_same_settings, plan
from .slurm_executor import run_slurm

LOG = logging.getLogger(__name__)

STALE_AFTER_S = 120.0
"""A run that says RUNNING but wrote no heartbeat for this long (Sacred beats every 10 s)
and whose process left no exit record is taken for dead."""


def run_cells(cells: Sequence[Cell], executor_config: ExecutorConfig | Mapping | None = None, *, entry_point: str,
              keys: CellKeys, folder: str | Path | None = None, stale_after_s: float = STALE_AFTER_S,
              progress: bool = True) -> list[CellOutcome]:
    """Train ``cells`` as ``executor_config`` says (an :class:`ExecutorConfig`, or the executor keys
    that :meth:`ExecutorConfig.from_config` checks); one :class:`CellOutcome` per cell, in the
    order given.

    Each cell is a run of ``entry_point``, the Sacred experiment (a module run with ``python -m``)
    that trains one cell, imported from where this process imports it (:func:`.import_root`);
    ``keys`` names the keys of its config that the executor reads and sets.

    A cell with a COMPLETED run in its output folder is skipped; one whose runs stopped early
    (interrupted, failed, killed) resumes from the newest checkpoint among them; a cell whose
    run is still alive elsewhere is left alone (reported failed, saying so); the rest start
    from scratch. Every run is tagged with the cell's key in its config (``keys.cell``), which
    is how the next call finds it. A cell whose process fails is reported failed and the
    others go on. Nothing already written is changed: every run gets a new numbered folder.

    ``folder`` holds each attempt's config file, log and exit record, and submitit's files
    (default: ``executor`` inside the first cell's output folder). Raises :class:`ConfigError`
    for a bad executor config or entry point, malformed or duplicate cells, and a cell key
    whose earlier runs were trained with other settings.
    """
    config = executor_config if isinstance(executor_config, ExecutorConfig) else \
        ExecutorConfig.from_config(executor_config)
    if oversubscription(config):
        LOG.warning(oversubscription(config))
    cells = _checked(cells, keys)
    root = import_root(entry_point)
    if config.executor == "local":
        gpu_slots(config.workers)  # fewer GPUs than workers: a ConfigError before anything starts
    folder = Path(folder) if folder else Path(cells[0].config[keys.output]) / "executor"
    plans = {}
    for cell in cells:
        runs = cell_runs(cell, keys)
        check_same_settings(cell, runs, keys)
        plans[cell.key] = plan(cell, runs, stale_after_s, datetime.utcnow())
    outcomes = {key: _outcome_without_running(key, plan_) for key, plan_ in plans.items()
                if plan_.action in ("skip", "busy")}
    attempts = [_attempt(cell, plans[cell.key], config, folder, entry_point, root, keys) for cell in cells
                if cell.key not in outcomes]
    by_key = {cell.key: cell for cell in cells}
    with tqdm(total=len(cells), initial=len(outcomes), desc="cells", unit="cell", disable=not progress,
              file=sys.stderr) as bar:
        bar.set_postfix(skipped=len(outcomes), refresh=False)
        # Ctrl-C, SIGTERM or an error here stops the running cells at once (they checkpoint first)
        with sigterm_as_keyboard_interrupt(), closing(_execute(attempts, config, folder)) as finished:
            for attempt, returncode, error in finished:
                outcomes[attempt.key] = _outcome_after_running(by_key[attempt.key], plans[attempt.key], attempt,
                                                               returncode, error, keys)
                bar.update()
                bar.set_postfix(failed=sum(outcome.status == FAILED for outcome in outcomes.values()),
                                refresh=False)
    return [outcomes[cell.key] for cell in cells]


def _execute(attempts: list[Attempt], config: ExecutorConfig, folder: Path):
    if not attempts:
        return
    if config.executor == "slurm":
        yield from run_slurm(attempts, config.slurm, folder / "slurm")
    else:
        yield from run_local(attempts, config.workers)


def _checked(cells: Sequence[Cell], keys: CellKeys) -> list[Cell]:
    cells = list(cells)
    if not cells:
        raise ConfigError("cells=[] is not valid; give at least one Cell")
    seen = set()
    for index, cell in enumerate(cells):
        if not isinstance(cell, Cell):
            raise ConfigError(f"cells[{index}]={cell!r} is not valid; give ali_opt.runtime.Cell(key, config) objects")
        if not isinstance(cell.key, str) or not cell.key.strip():
            raise ConfigError(f"cells[{index}].key={cell.key!r} is not valid; give a non-empty string, "
                              "such as 'extra_adam/lr2/seed1'")
        if cell.key in seen:
            raise ConfigError(f"cells[{index}].key={cell.key!r} is given twice; each cell needs its own key")
        seen.add(cell.key)
        if not isinstance(cell.config, dict):
            raise ConfigError(f"cell {cell.key!r}: config={cell.config!r} is not valid; give a config dict")
        output = cell.config.get(keys.output)
        if not isinstance(output, str) or not output:
            raise ConfigError(f"cell {cell.key!r}: {keys.output}={output!r} is not valid; a cell's runs need a "
                              "folder, which is also where a re-run finds them")
        if Path(output).exists() and not Path(output).is_dir():
            raise ConfigError(f"cell {cell.key!r}: {keys.output}={output!r} is a file; give a folder for the runs")
    return cells


def _attempt(cell: Cell, plan_: Plan, config: ExecutorConfig, folder: Path, entry_point: str, root: Path,
             keys: CellKeys) -> Attempt:
    threads = config.threads_per_cell()
    run_config = {**cell.config, **keys.fixed, keys.cell: cell.key, keys.threads: threads}
    if plan_.action == "resume":
        run_config[keys.resume] = str(plan_.resume_from.folder.absolute())
    return prepare_attempt(cell.key, run_config, folder, threads, entry_point, root)


def _outcome_without_running(key: str, plan_: Plan) -> CellOutcome:
    folders = tuple(run.folder for run in plan_.runs)
    if plan_.action == "skip":
        return CellOutcome(key, SKIPPED, folders, plan_.done.result)
    return CellOutcome(key, FAILED, folders, error=f"not started: its run in {plan_.busy.folder} is still running "
                                                    "(its heartbeat is recent); re-run the sweep when it has ended")


def _outcome_after_running(cell: Cell, plan_: Plan, attempt: Attempt, returncode: int | None,
                           error: str, keys: CellKeys) -> CellOutcome:
    earlier = {run.folder for run in plan_.runs}
    runs = cell_runs(cell, keys)
    new: list[RunRecord] = [run for run in runs if run.folder not in earlier]
    folders = tuple(run.folder for run in runs)
    completed = [run for run in new if run.status == "COMPLETED"]
    if returncode == 0 and completed:
        return CellOutcome(cell.key, RESUMED if plan_.action == "resume" else DONE, folders, completed[-1].result,
                           log=attempt.log_file)
    if not error:
        error = describe_exit(returncode, attempt.log_file) if returncode else \
            f"exited with status 0 but left no COMPLETED run in {cell.config[keys.output]}; see {attempt.log_file}"
    return CellOutcome(cell.key, FAILED, folders, error=error, log=attempt.log_file)

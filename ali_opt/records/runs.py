"""Reading Sacred run folders into :class:`Run` records and grouping seeds under one label.

A run folder is one written by a FileStorageObserver: ``config.json``, ``run.json`` and,
once something was logged, ``metrics.json``. A resumed run (``config["resume"]`` names
the run it continues) is stitched onto that run when both are read, so that one
:class:`Run` holds the whole trajectory.
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from optimizers import DEFAULTS, OPTIMIZERS, defaults_for

from ..dotted import MISSING, lookup
from ..errors import ConfigError

Curve = tuple[np.ndarray, np.ndarray]
"""A logged metric: its steps (increasing integers) and its values at those steps."""

Skipped = tuple[Path, str]
"""A folder that was not read as a run, and why."""

PLAYERS = ("d", "g")

OPTIMIZER_DEFAULTS = json.loads(json.dumps(DEFAULTS))
"""Every optimizer option with its default, as JSON holds them (``"default"`` for an option whose
default depends on the optimizer: :data:`optimizers.registry.OWN_DEFAULT`)."""

DISTINGUISHING_KEYS = (*(f"optimizer.{key}" for key in OPTIMIZER_DEFAULTS if key != "name"),
                       "model", "width", "loss", "data.name", "batch_size", "precision", "dropout",
                       "instance_noise.std", "instance_noise.anneal", "instance_noise.anneal_steps")
"""Config keys whose differences among runs of one optimizer go into the default group label
(:func:`group_runs`): every optimizer option, derived from :data:`optimizers.DEFAULTS` so that
a new option is never drawn as a seed of another setting, then the model and data keys."""


@dataclass
class Run:
    """One run, or a chain of runs each resuming the one before (``parts``, oldest first).

    ``config`` is the first part's, with the optimizer's defaults filled in; ``status``,
    ``result`` and ``diverged_at`` are the last part's. ``metrics`` stop before
    ``diverged_at``.
    """

    folder: Path
    config: dict
    status: str
    result: dict | None
    diverged_at: int | None
    metrics: dict[str, Curve]
    parts: tuple[Path, ...] = ()
    start_time: str = ""
    failure: str = ""

    def __post_init__(self):
        self.parts = self.parts or (self.folder,)

    @property
    def seed(self):
        return self.config.get("seed")

    @property
    def optimizer_name(self) -> str:
        return str(self.config.get("optimizer", {}).get("name", "?"))

    def curve(self, name: str) -> Curve:
        """The metric ``name``; empty arrays when it was not logged (yet)."""
        return self.metrics.get(name, (np.zeros(0, dtype=int), np.zeros(0)))

    def last_value(self, name: str) -> float:
        """The last logged value of the metric ``name``; NaN when it was not logged."""
        values = self.curve(name)[1]
        return float(values[-1]) if len(values) else math.nan

    def last_step(self) -> int:
        return max((int(steps[-1]) for steps, _ in self.metrics.values() if len(steps)), default=0)

    def clock_at(self, steps: np.ndarray, clock: str = "wall_time") -> np.ndarray:
        """Cumulative ``clock`` (``wall_time``, ``cpu_time``, ``grad_evals``) at ``steps``,
        interpolated between the steps it was logged at; NaN where it was never logged.

        A run that starts from scratch reads 0 at step 0; outside the logged range the
        nearest logged value stands.
        """
        clock_steps, values = self.curve(clock)
        if not len(clock_steps):
            return np.full(len(steps), np.nan)
        if not self.config.get("resume"):
            clock_steps, values = np.concatenate([[0], clock_steps]), np.concatenate([[0.0], values])
        return np.interp(steps, clock_steps, values)


@dataclass
class Group:
    """Runs that differ only in their seed, under the label that figures and tables show."""

    label: str
    runs: list[Run] = field(default_factory=list)


def load_runs(paths: Iterable[str | Path]) -> tuple[list[Run], list[Skipped]]:
    """Every run under ``paths`` (run folders, or folders of run folders), resumed runs stitched.

    Skipped, each with its reason: folders without ``run.json``, unreadable runs, runs that
    ended FAILED (unless a later run continues them), and a second run continuing a run
    another one already continues. Raises :class:`ConfigError` for a path that does not
    exist, and when no run is left.
    """
    paths = [Path(path) for path in paths]
    folders, skipped = _run_folders(paths)
    runs = []
    for folder in folders:
        try:
            run = read_run(folder)
        except (OSError, ValueError) as error:
            skipped.append((folder, f"unreadable run: {error}"))
            continue
        if run.status == "FAILED" and not run.metrics:
            skipped.append((folder, f"FAILED before logging anything: {run.failure}"))
        else:
            runs.append(run)
    runs, duplicates = stitch_resumed(runs)
    skipped += duplicates
    skipped += [(run.parts[-1], f"FAILED at step {run.last_step()}: {run.failure}") for run in runs
                if run.status == "FAILED"]
    runs = [run for run in runs if run.status != "FAILED"]
    if not runs:
        raise ConfigError(f"no runs found in {', '.join(map(str, paths))}; give run folders (each holding "
                          f"run.json) or folders of them ({len(skipped)} folders skipped)")
    return runs, skipped


def read_run(folder: Path) -> Run:
    """The run recorded in ``folder``, its metrics cut before the step it diverged at."""
    record = json.loads((folder / "run.json").read_text())
    config = json.loads((folder / "config.json").read_text())
    config["optimizer"] = {**optimizer_defaults(config.get("optimizer", {}).get("name", DEFAULTS["name"])),
                           **config.get("optimizer", {})}
    result = record.get("result") if isinstance(record.get("result"), dict) else None
    diverged_at = (result or {}).get("diverged_at")
    if diverged_at is None:
        diverged_at = (record.get("info") or {}).get("diverged_at")
    metrics = _read_metrics(folder / "metrics.json")
    if diverged_at is not None:
        metrics = {name: (steps[steps < diverged_at], values[steps < diverged_at])
                   for name, (steps, values) in metrics.items()}
    failure = (record.get("fail_trace") or ["no error recorded"])[-1].strip()
    return Run(folder, config, record.get("status", "?"), result, diverged_at, metrics,
               start_time=record.get("start_time") or "", failure=failure)


def optimizer_defaults(name: str) -> dict:
    """The optimizer options a run of optimizer ``name`` takes when its config leaves them out, as
    JSON holds them: its own defaults (:func:`optimizers.defaults_for`) over :data:`OPTIMIZER_DEFAULTS`,
    which gives the options of other optimizers (and every option of a name no longer registered)."""
    own = json.loads(json.dumps(defaults_for(name))) if isinstance(name, str) and name in OPTIMIZERS else {}
    return {**OPTIMIZER_DEFAULTS, **own}


def stitch_resumed(runs: Sequence[Run]) -> tuple[list[Run], list[Skipped]]:
    """Each run continued by a resumed run among ``runs`` joined with it into one :class:`Run`.

    ``config["resume"]`` is matched to a run folder as written (absolute, or relative to
    the current folder or to any folder above the resumed run). A run continued twice (a
    continuation killed before its first checkpoint is resumed again from the same one) keeps
    the continuation that completed, else the one that logged the furthest step, else the
    one that started first; the others come back as skipped.
    """
    by_folder = {run.folder.resolve(): run for run in runs}
    candidates: dict[Path, list[Run]] = defaultdict(list)
    for run in sorted(runs, key=lambda run: run.start_time):
        resumed = _resumed_folder(run, by_folder)
        if resumed is not None:
            candidates[resumed].append(run)
    continuation_of: dict[Path, Run] = {}
    skipped = []
    for resumed, continuations in candidates.items():
        kept = max(continuations, key=_progress)  # max keeps the first of equals: the earliest start
        continuation_of[resumed] = kept
        skipped += [(run.folder, f"continues {by_folder[resumed].folder}, which {kept.folder} continues further")
                    for run in continuations if run is not kept]
    dropped = {id(run) for run in continuation_of.values()} | {id(by_folder[folder.resolve()]) for folder, _ in skipped}
    chains = []
    for run in runs:
        if id(run) in dropped:
            continue
        while (next_part := continuation_of.get(run.parts[-1].resolve())) is not None:
            run = _append(run, next_part)
        chains.append(run)
    return chains, skipped


def group_runs(runs: Sequence[Run], by: Sequence[str] = ()) -> list[Group]:
    """Runs grouped by label, groups sorted by label and runs by seed.

    A label is the optimizer's name followed by ``key=value`` for each config key in
    ``by`` (dotted: ``optimizer.lr.g``, ``width``); without ``by``, for each key of
    :data:`DISTINGUISHING_KEYS` whose value differs between runs of that optimizer. Raises
    :class:`ConfigError` for a key in ``by`` that no run's config holds.
    """
    for key in by:
        if all(_lookup(run.config, key) is MISSING for run in runs):
            raise ConfigError(f"group key {key!r} is in no run's config; valid keys: {', '.join(config_keys(runs))}")
    keys_of = {name: list(by) or _differing_keys([run for run in runs if run.optimizer_name == name])
               for name in {run.optimizer_name for run in runs}}
    grouped: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        grouped[_label(run, keys_of[run.optimizer_name])].append(run)
    return [Group(label, sorted(members, key=_seed_order)) for label, members in sorted(grouped.items())]


def config_keys(runs: Sequence[Run]) -> list[str]:
    """Every dotted key found in the runs' configs, sorted."""
    return sorted({key for run in runs for key in _flat_keys(run.config)})


def format_value(value) -> str:
    """A config value as labels show it: ``0.0001``, ``d:0.0001/g:0.0005``, ``0.5,0.999``."""
    if value is MISSING:
        return "unset"
    if isinstance(value, dict):
        shared = set(map(format_value, value.values()))
        if set(value) == set(PLAYERS) and len(shared) == 1:
            return shared.pop()
        return "/".join(f"{key}:{format_value(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return ",".join(map(format_value, value))
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:g}"
    return str(value)


def _lookup(config: dict, key: str):
    """The value of a dotted key, or ``MISSING``. An optimizer option given once applies to
    every player, so ``optimizer.lr.g`` reads a plain ``optimizer.lr`` too."""
    value = lookup(config, key)
    names = key.split(".")
    if value is MISSING and names[0] == "optimizer" and len(names) == 3 and names[2] in PLAYERS:
        shared = lookup(config, ".".join(names[:2]))
        return MISSING if isinstance(shared, dict) else shared
    return value


def _label(run: Run, keys: Sequence[str]) -> str:
    """The optimizer's name, then ``key=value`` per key (``optimizer.`` left out of the key)."""
    values = [f"{key.removeprefix('optimizer.')}={format_value(_lookup(run.config, key))}" for key in keys]
    return " ".join([run.optimizer_name, *values])


def _differing_keys(runs: Sequence[Run]) -> list[str]:
    return [key for key in DISTINGUISHING_KEYS if len({format_value(_lookup(run.config, key)) for run in runs}) > 1]


def _seed_order(run: Run) -> tuple:
    """Integer seeds in numeric order, any other seed after them."""
    numeric = isinstance(run.seed, int) and not isinstance(run.seed, bool)
    return (not numeric, run.seed if numeric else 0, str(run.seed))


def _flat_keys(config: dict, prefix: str = "") -> list[str]:
    keys = []
    for name, value in config.items():
        keys.append(prefix + name)
        if isinstance(value, dict):
            keys += _flat_keys(value, f"{prefix}{name}.")
    return keys


def _run_folders(paths: Sequence[Path]) -> tuple[list[Path], list[Skipped]]:
    """Run folders among ``paths`` and their subfolders (in numeric order), and the skipped subfolders."""
    folders, skipped, seen = [], [], set()
    for path in paths:
        if not path.exists():
            raise ConfigError(f"{path} does not exist; give run folders (each holding run.json) or folders of them")
        if (path / "run.json").is_file():
            candidates = [path]
        elif path.is_dir():
            candidates = sorted((child for child in path.iterdir() if child.is_dir()), key=_folder_order)
        else:
            raise ConfigError(f"{path} is not a folder; give run folders (each holding run.json) or folders of them")
        for folder in candidates:
            if folder.resolve() in seen:
                continue
            seen.add(folder.resolve())
            if (folder / "run.json").is_file():
                folders.append(folder)
            else:
                skipped.append((folder, "not a run: no run.json"))
    return folders, skipped


def _folder_order(folder: Path) -> tuple:
    """Numbered run folders in numeric order (2 before 10), other names after them."""
    return (not folder.name.isdigit(), int(folder.name) if folder.name.isdigit() else 0, folder.name)


def _read_metrics(path: Path) -> dict[str, Curve]:
    """``metrics.json`` as curves; none while it is missing or half-written."""
    try:
        logged = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return {name: (np.asarray(metric["steps"], dtype=int), np.asarray(metric["values"], dtype=float))
            for name, metric in logged.items()}


def _resumed_folder(run: Run, by_folder: dict[Path, Run]) -> Path | None:
    """The resolved folder, among ``by_folder``, of the run that ``run`` resumes."""
    resume = run.config.get("resume")
    if not resume:
        return None
    given = Path(resume).expanduser()
    if given.suffix == ".pt":
        given = given.parent
    bases = [Path()] if given.is_absolute() else [Path.cwd(), *run.folder.resolve().parents]
    for base in bases:
        candidate = (base / given).resolve()
        if candidate in by_folder and candidate != run.folder.resolve():
            return candidate
    return None


def _progress(run: Run) -> tuple[bool, int]:
    """How far a run got: whether it completed, then the last step it logged."""
    return run.status == "COMPLETED", run.last_step()


def _append(earlier: Run, later: Run) -> Run:
    """``earlier`` continued by ``later``: the points ``earlier`` logged from ``later``'s first
    logged step on were redone by ``later`` after it reloaded the checkpoint, so they go."""
    first = min((int(steps[0]) for steps, _ in later.metrics.values() if len(steps)), default=None)
    metrics = dict(earlier.metrics)
    for name, (steps, values) in later.metrics.items():
        kept_steps, kept_values = earlier.curve(name)
        kept = kept_steps < first
        metrics[name] = (np.concatenate([kept_steps[kept], steps]), np.concatenate([kept_values[kept], values]))
    return Run(earlier.folder, earlier.config, later.status, later.result, later.diverged_at, metrics,
               earlier.parts + later.parts, earlier.start_time, later.failure)

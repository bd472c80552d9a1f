"""What the comparison studies share: one training run per optimizer entry and seed, side by side.

A study config is a training config (:mod:`studies.train_ali`) plus ``comparison`` (a list
of changes to ``optimizer``, each with at least a ``name``), ``seeds`` (runs per entry)
and ``pdf``. With ``optimizer.name`` empty the study compares; otherwise it trains that
one optimizer.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sacred import Experiment

from ali_opt.errors import ConfigError, check_positive
from ali_opt.plots.runs import Group, group_runs, load_runs
from ali_opt.runtime.sacred_setup import file_storage_flag_as_config, replace_config_observer

from . import train_ali

STUDY_KEYS = ("comparison", "seeds", "pdf", "members", "benchmark", "resume_ensembles")
"""Keys of a study that are not keys of its training runs (each study has those it uses)."""


def comparing(config: dict) -> bool:
    return not config["optimizer"]["name"]


def training_config(config: dict, optimizer_changes: dict, seed: int) -> dict:
    """The config of one training run: the study's config with a comparison entry applied."""
    training = {key: value for key, value in config.items() if key not in STUDY_KEYS}
    training["optimizer"] = {**config["optimizer"], **optimizer_changes}
    training["seed"] = seed
    return training


def check_study_config(config: dict) -> None:
    """Raise :class:`ConfigError` for the first bad value of a study config."""
    check_positive("seeds", config["seeds"], integer=True)
    if comparing(config) and not config["output"]:
        raise ConfigError('output="" is not valid for a comparison: its runs and figures need a folder')
    for index, entry in enumerate(config["comparison"]):
        if not isinstance(entry, dict) or "name" not in entry:
            raise ConfigError(f"comparison[{index}]={entry!r} is not valid; each entry is a dict with at least a name")
        train_ali.check_training_config(training_config(config, entry, config["seed"]))
    if not comparing(config):
        train_ali.check_training_config(training_config(config, {}, config["seed"]))


def add_study_hook(experiment: Experiment, check: Callable[[dict], None] = lambda config: None) -> None:
    """Validate a study's config (``check`` first, then :func:`check_study_config`) and set up its
    observers before any run starts. ``-F DIR`` is taken as ``output=DIR``
    (:func:`ali_opt.runtime.sacred_setup.file_storage_flag_as_config`)."""
    flag_updates = file_storage_flag_as_config(experiment, "output")

    @experiment.config_hook
    def validate_and_observe(config, command_name, logger):
        updates = flag_updates(config)
        config = {**config, **updates}
        check(config)
        check_study_config(config)
        observe_study(experiment, config)
        return updates


def observe_study(experiment: Experiment, config: dict) -> None:
    """Record a single run in ``output`` and a comparison in ``output/comparisons``."""
    folder = config["output"] and str(Path(config["output"]) / ("comparisons" if comparing(config) else ""))
    replace_config_observer(experiment, folder)


def train_comparison(config: dict, log) -> list[dict]:
    """Train every comparison entry for every seed, each as its own run of :mod:`studies.train_ali`
    in ``output``; one outcome per run: optimizer, seed, run id and the run's result."""
    outcomes = []
    for entry in config["comparison"]:
        for seed in range(config["seed"], config["seed"] + config["seeds"]):
            log.info("training %s, seed %d", entry["name"], seed)
            trained = train_ali.ex.run(config_updates=training_config(config, entry, seed))
            outcomes.append({"optimizer": entry["name"], "seed": seed, "run": trained._id, **trained.result})
    return outcomes


def comparison_groups(config: dict, outcomes: list[dict]) -> list[Group]:
    """The runs that :func:`train_comparison` just trained, read back and grouped for the figures."""
    runs, _ = load_runs([Path(config["output"]) / str(outcome["run"]) for outcome in outcomes])
    return group_runs(runs)

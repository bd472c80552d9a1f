"""What the comparison experiments share: one training run per optimizer entry and seed, side by side.

A study config is a training config (:mod:`ali_opt.config`) plus ``comparison`` (a list
of changes to ``optimizer``, each with at least a ``name``, and optionally the training keys
of :data:`ENTRY_TRAINING_KEYS`, such as ``{"name": "adam", "instance_noise": {"std": 0.1}}``),
``seeds`` (runs per entry) and ``pdf``. With ``optimizer.name`` empty the study compares; otherwise it trains that
one optimizer.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sacred import Experiment

from ali_opt.config import STUDY_KEYS, check_training_config
from ali_opt.errors import ConfigError, check_positive
from ali_opt.records.runs import Group, group_runs, load_runs
from ali_opt.runtime.sacred_setup import file_storage_flag_as_config, replace_config_observer


def comparing(config: dict) -> bool:
    return not config["optimizer"]["name"]


ENTRY_TRAINING_KEYS = ("instance_noise",)
"""Training keys a comparison entry may change beside ``optimizer`` (each a dict, merged into the run's)."""


def training_config(config: dict, optimizer_changes: dict, seed: int) -> dict:
    """The config of one training run: the study's config with a comparison entry applied (its
    :data:`ENTRY_TRAINING_KEYS` to those training keys, everything else to ``optimizer``)."""
    training = {key: value for key, value in config.items() if key not in STUDY_KEYS}
    training["optimizer"] = {**config["optimizer"],
                             **{key: value for key, value in optimizer_changes.items() if key not in ENTRY_TRAINING_KEYS}}
    for key in ENTRY_TRAINING_KEYS:
        if key in optimizer_changes:
            value = optimizer_changes[key]
            training[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
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
        check_training_config(training_config(config, entry, config["seed"]))
    if not comparing(config):
        check_training_config(training_config(config, {}, config["seed"]))


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


def train_comparison(training: Experiment, config: dict, log) -> list[dict]:
    """Train every comparison entry for every seed, each as its own run of the experiment
    ``training`` (which trains one config, recording it in ``output``); one outcome per run:
    optimizer, seed, run id and the run's result."""
    outcomes = []
    for entry in config["comparison"]:
        for seed in range(config["seed"], config["seed"] + config["seeds"]):
            log.info("training %s, seed %d", entry["name"], seed)
            trained = training.run(config_updates=training_config(config, entry, seed))
            outcomes.append({"optimizer": entry["name"], "seed": seed, "run": trained._id, **trained.result})
    return outcomes


def comparison_groups(config: dict, outcomes: list[dict]) -> list[Group]:
    """The runs that :func:`train_comparison` just trained, read back and grouped for the figures."""
    runs, _ = load_runs([Path(config["output"]) / str(outcome["run"]) for outcome in outcomes])
    return group_runs(runs)

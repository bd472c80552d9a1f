"""Sacred wiring shared by the experiments: runs recorded in the folder the config names.

Where runs go is the config key ``output`` (or the key a study names). Sacred's own
``-F DIR`` (``--file_storage``) flag is taken as another way to write ``output=DIR``: the run
is recorded once, in ``DIR``, with its checkpoints, and a comparison's runs go there too.
Giving both ``-F DIR`` and a different ``output=...`` is refused. The observer writes its
JSON files (``run.json``, ``config.json``, ``metrics.json``, ...) atomically, so a run killed
mid-write keeps its last complete record, which is how a sweep finds its checkpoint.

Every study's ``__main__`` runs :func:`run_commandline`, Sacred's command line with a bad
config (:class:`~ali_opt.errors.ConfigError`) reported as one line and exit status 1.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from sacred import Experiment
from sacred.observers import FileStorageObserver
from sacred.run import Run
from sacred.serializer import flatten
from sacred.utils import SacredError

from ..errors import ConfigError
from .atomic import write_atomically

FILE_STORAGE_FLAG = "--file_storage"


class CommandLineConfigError(ConfigError, SacredError):
    """A :class:`~ali_opt.errors.ConfigError` raised under :func:`run_commandline`: Sacred prints
    it as the one line ``ali_opt.errors.ConfigError: <message>`` (no traceback) and exits with
    status 1, as it does for its own errors."""

    __module__ = ConfigError.__module__  # printed as the error it stands for
    __qualname__ = ConfigError.__qualname__

    def __init__(self, message: str):
        SacredError.__init__(self, message, print_traceback=False)


def run_commandline(experiment: Experiment, argv=None) -> Run | None:
    """``experiment.run_commandline(argv)`` (the ``__main__`` of every study), with a
    :class:`~ali_opt.errors.ConfigError` from its config hooks or its main function printed
    as one line and exit status 1. Runs started from Python (``experiment.run``) raise the
    ConfigError itself."""

    original = experiment.run

    def run(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        except ConfigError as error:
            if isinstance(error, SacredError):
                raise
            raise CommandLineConfigError(str(error)) from error

    experiment.run = run  # for this call only: Sacred's run_commandline calls self.run
    try:
        return experiment.run_commandline(argv)
    finally:
        del experiment.run


def file_observer_folder(run: Run) -> Path | None:
    """The folder of the run's FileStorageObserver, where its checkpoints go; None without one."""
    folders = [Path(o.dir) for o in run.observers if isinstance(o, FileStorageObserver)]
    return folders[0] if folders else None


class AtomicFileStorageObserver(FileStorageObserver):
    """Sacred's FileStorageObserver, but each JSON file is written to a temporary file beside
    it and renamed over it: a reader (or a process killed mid-write) sees the old file or the
    new one, never half of one. Sacred's own writes the file in place."""

    def save_json(self, obj, filename):
        write_atomically(os.path.join(self.dir, filename),
                         lambda file: json.dump(flatten(obj), file, sort_keys=True, indent=2),
                         mode=0o644)  # as an ordinary file


def file_storage_flag_as_config(experiment: Experiment, key: str = "output") -> Callable[[dict], dict]:
    """Take Sacred's ``-F DIR`` off every run of ``experiment`` (so Sacred adds no observer of its
    own) and return ``updates(config)``: ``{key: DIR}`` for a run given the flag, else ``{}``.

    Call ``updates`` from a config hook, use ``{**config, **updates(config)}`` there and return
    the updates, so that the run's config records where it went.
    """
    given: dict[str, object] = {}

    @experiment.option_hook
    def take_file_storage_flag(options):
        given["folder"] = options.pop(FILE_STORAGE_FLAG, None) or None
        given["explicit"] = any(update.split("=", 1)[0].strip() == key for update in options.get("UPDATE") or [])

    def updates(config: dict) -> dict:
        folder = given.pop("folder", None)
        if folder is None:
            return {}
        if given.pop("explicit", False) and config.get(key) != folder:
            raise ConfigError(f"{key}={config.get(key)!r} and -F {folder!r} name two places for the run; "
                              f"give one of them ({key}={folder!r} and -F {folder!r} are the same)")
        return {key: str(folder)}

    return updates


def replace_config_observer(experiment: Experiment, folder: str) -> None:
    """Make a FileStorageObserver in ``folder`` the one observer that comes from the config
    (none for an empty ``folder``); observers given otherwise stay."""
    experiment.observers[:] = [o for o in experiment.observers if not getattr(o, "from_config", False)]
    if folder:
        observer = AtomicFileStorageObserver(folder)
        observer.from_config = True
        experiment.observers.append(observer)


def observe_config_folder(experiment: Experiment, key: str = "output") -> None:
    """Record every run of ``experiment`` with a FileStorageObserver in the folder ``config[key]``
    (or the ``-F`` folder, see the module's docstring).

    Runs go into numbered subfolders, so an existing run is never overwritten. An empty
    value records nothing (other observers given with Sacred's flags still apply).
    """
    flag_updates = file_storage_flag_as_config(experiment, key)

    @experiment.config_hook
    def add_file_observer(config, command_name, logger):
        updates = flag_updates(config)
        replace_config_observer(experiment, {**config, **updates}.get(key))
        return updates

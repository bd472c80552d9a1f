"""Sacred wiring shared by the studies: a file observer in the folder the config names."""
from __future__ import annotations

from sacred import Experiment
from sacred.observers import FileStorageObserver


def observe_config_folder(experiment: Experiment, key: str = "output") -> None:
    """Record every run of ``experiment`` with a FileStorageObserver in the folder ``config[key]``.

    Runs go into numbered subfolders, so an existing run is never overwritten. An empty
    value records nothing (other observers given with Sacred's flags still apply).
    """

    @experiment.config_hook
    def add_file_observer(config, command_name, logger):
        experiment.observers[:] = [o for o in experiment.observers if not getattr(o, "from_config", False)]
        if config.get(key):
            observer = FileStorageObserver(config[key])
            observer.from_config = True
            experiment.observers.append(observer)
        return {}

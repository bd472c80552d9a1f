"""Train ALI with any game optimizer: one Sacred run per call.

    python -m studies.train_ali with data.root=../shared/data quick extra_adam
    python -m studies.train_ali with optimizer.name=optimistic_adam 'optimizer.lr={"d": 1e-4, "g": 5e-4}'
    python -m studies.train_ali with resume=runs/train_ali/3 steps=20000

Every optimizer name is also a named config (``with extra_adam``); ``quick`` is a
quarter-width model for a CPU. Runs are recorded in ``output`` (a FileStorageObserver
folder: config.json, run.json, metrics.json, checkpoint.pt, figures). Sacred's ``-F DIR``
is another way to write ``output=DIR``; add any other Sacred observer with Sacred's own
flags (``-m``, ...).
"""
from __future__ import annotations

import ali_opt  # noqa: F401  (quiets Sacred's import warning)

from sacred import Experiment
from sacred.utils import apply_backspaces_and_linefeeds

from ali_opt.runtime.sacred_setup import file_observer_folder, observe_config_folder, run_commandline
from ali_opt.config import add_training_configs, check_training_config
from ali_opt.training import train

ex = Experiment("train_ali", save_git_info=False)
ex.captured_out_filter = apply_backspaces_and_linefeeds
observe_config_folder(ex, "output")


add_training_configs(ex)


@ex.config_hook
def validate(config, command_name, logger):
    check_training_config(config)
    return {}


def train_run(config: dict, sacred_run, log) -> dict:
    """Train ``config`` as the Sacred run ``sacred_run`` (checkpoints in its file observer's folder)."""
    run_dir = file_observer_folder(sacred_run)
    if run_dir is None:
        log.warning("no FileStorageObserver: this run writes no checkpoints")
    result = train(dict(config), sacred_run.log_scalar, run_dir, sacred_run.add_artifact)
    if result["diverged_at"] is not None:
        sacred_run.info["diverged_at"] = result["diverged_at"]
        log.warning("diverged at step %d: non-finite loss or gradient", result["diverged_at"])
    return result


@ex.main
def main(_config, _run, _log):
    return train_run(_config, _run, _log)


if __name__ == "__main__":
    run_commandline(ex)

"""Does (stochastic) extragradient train ALI on CIFAR-10 more stably, and reach a lower
held-out reconstruction error per unit of time, than simultaneous or alternating updates?

    python -m studies.extragradient_cifar10 with data.root=../shared/data quick   # whole comparison, CPU
    python -m studies.extragradient_cifar10 with data.root=~/data                  # paper model, for a GPU
    python -m studies.extragradient_cifar10 with extra_adam                        # one optimizer, one run

Without a chosen optimizer (``optimizer.name=""``, the default) the study trains every
entry of ``comparison`` for ``seeds`` seeds, each as its own Sacred run of
:mod:`studies.train_ali` in ``output``, then draws the comparison figures and the summary
table into ``output/figures`` (the comparison itself is recorded in
``output/comparisons``). With ``optimizer.name`` set (or a named config such as
``with extra_adam``) it trains that optimizer as one run. Every config key of
:mod:`studies.train_ali` applies; ``quick`` is the CPU-sized variant.
"""
from __future__ import annotations

import ali_opt  # noqa: F401
from pathlib import Path

from sacred import Experiment
from sacred.observers import FileStorageObserver
from sacred.utils import apply_backspaces_and_linefeeds

from ali_opt.errors import ConfigError, check_positive
from ali_opt.plots.runs import group_runs, load_runs

from . import train_ali
from .plot import draw_all

ex = Experiment("extragradient_cifar10", save_git_info=False)
ex.captured_out_filter = apply_backspaces_and_linefeeds
train_ali.add_training_configs(ex)


@ex.config
def study_config():
    optimizer = dict(train_ali.PAPER_OPTIMIZER, name="", lr={"d": 1e-4, "g": 5e-4})  # name "": the whole comparison
    output = "runs/extragradient_cifar10"
    comparison = [  # what each comparison run changes in `optimizer`
        {"name": "adam"},
        {"name": "alt_adam"},
        {"name": "extra_adam", "resample": True},
        {"name": "optimistic_adam"},
        {"name": "gda"},
        {"name": "extragradient", "resample": True},
    ]
    seeds = 1  # runs per comparison entry, with seeds seed, seed+1, ...
    pdf = False  # also write the figures as PDF



@ex.config_hook
def validate_and_observe(config, command_name, logger):
    """Check the config; record a single run in ``output``, a comparison in ``output/comparisons``."""
    comparing = not config["optimizer"]["name"]
    check_positive("seeds", config["seeds"], integer=True)
    for index, entry in enumerate(config["comparison"]):
        if not isinstance(entry, dict) or "name" not in entry:
            raise ConfigError(f"comparison[{index}]={entry!r} is not valid; each entry is a dict with at least a name")
        train_ali.check_training_config(_training_config(config, entry, config["seed"]))
    if not comparing:
        train_ali.check_training_config(_training_config(config, {}, config["seed"]))
    ex.observers[:] = [o for o in ex.observers if not getattr(o, "from_config", False)]
    if config["output"]:
        observer = FileStorageObserver(Path(config["output"]) / ("comparisons" if comparing else ""))
        observer.from_config = True
        ex.observers.append(observer)
    return {}


def _training_config(config: dict, optimizer_changes: dict, seed: int) -> dict:
    """The config of one training run: the study's config with the optimizer entry applied."""
    training = {key: value for key, value in config.items() if key not in ("comparison", "seeds", "pdf")}
    training["optimizer"] = {**config["optimizer"], **optimizer_changes}
    training["seed"] = seed
    return training


@ex.main
def main(_config, _run, _log):
    config = dict(_config)
    if config["optimizer"]["name"]:
        run_dir = train_ali.file_observer_folder(_run)
        return train_ali.train(config, _run.log_scalar, run_dir, _run.add_artifact)
    if not config["output"]:
        raise ConfigError('output="" is not valid for a comparison: its runs and figures need a folder')
    output = Path(config["output"])
    outcomes = []
    for entry in config["comparison"]:
        for seed in range(config["seed"], config["seed"] + config["seeds"]):
            _log.info("training %s, seed %d", entry["name"], seed)
            run = train_ali.ex.run(config_updates=_training_config(config, entry, seed))
            outcomes.append({"optimizer": entry["name"], "seed": seed, "run": run._id, **run.result})
    runs, _ = load_runs([output / str(outcome["run"]) for outcome in outcomes])
    figures = draw_all(group_runs(runs), output / "figures", pdf=config["pdf"])
    for path in figures:
        _run.add_artifact(path)
    return {"runs": outcomes, "figures": [str(p) for p in figures]}


if __name__ == "__main__":
    ex.run_commandline()

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
from sacred.utils import apply_backspaces_and_linefeeds


from . import train_ali
from .comparison import add_study_hook, comparison_groups, train_comparison
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



add_study_hook(ex)


@ex.main
def main(_config, _run, _log):
    config = dict(_config)
    if config["optimizer"]["name"]:
        return train_ali.train_run(config, _run, _log)
    output = Path(config["output"])
    outcomes = train_comparison(config, _log)
    figures = draw_all(comparison_groups(config, outcomes), output / "figures", pdf=config["pdf"])
    for path in figures:
        _run.add_artifact(path)
    return {"runs": outcomes, "figures": [str(p) for p in figures]}


if __name__ == "__main__":
    ex.run_commandline()

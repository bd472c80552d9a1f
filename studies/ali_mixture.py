"""Which game optimizers let ALI cover every mode of a 2-D mixture of Gaussians?

    python -m studies.ali_mixture                                                # every optimizer, ring of 8
    python -m studies.ali_mixture with data.name=grid                            # every optimizer, grid of 25
    python -m studies.ali_mixture with data.name=grid optimizer.name=extra_adam  # one optimizer, one run
    python -m studies.ali_mixture with members=16                                # 16 seeds per optimizer, vmapped
    python -m studies.ali_mixture with benchmark=grid25                          # the ALI paper's 25-Gaussian table
    python -m studies.ali_mixture with benchmark=grid25_cpu                      # a CPU-sized version of it

ALI with the ``mlp`` model on ``data.name`` (``ring`` or ``grid``, see
:mod:`ali_opt.data.mixtures`). Without a chosen optimizer (``optimizer.name=""``, the
default) the study trains every entry of ``comparison`` for ``seeds`` seeds, each as its
own Sacred run of :mod:`studies.train_ali` in ``output``. It then reloads each run's last
checkpoint, counts the modes that :data:`SAMPLES` generated points cover
(:mod:`ali_opt.metrics.mode_coverage`), and draws ``mixture.png`` (samples and reconstructions, one
column per run, see :mod:`ali_opt.plots.mixture`) with the comparison figures and summary
table of :func:`ali_opt.plots.all_figures.draw_all` into ``output/figures``. The comparison itself is
recorded in ``output/comparisons``; its result lists every run with ``modes_covered`` and
``high_quality`` (the fraction of samples near a mode). With ``optimizer.name`` set (or a
named config such as ``with extra_adam``) it trains that optimizer as one run, adds the
figure to it and returns the same two keys. Every config key of :mod:`studies.train_ali`
applies; training uses one torch thread (``threads``).

With ``members=N`` (N > 1) each entry trains N seeds at once as one vmapped ensemble
(:mod:`ali_opt.sweeps.mixture_ensembles`) and the comparison run's folder receives
``ensemble_curves.png`` (median member and min-max band of each player's loss and gradient
norm), ``mixture_median_members.png`` (each optimizer's median member) and ``modes_table.md``.
Ensembles run on the CPU (``device=cpu``). ``benchmark=grid25`` applies :data:`GRID25`, the ALI
paper's 25-Gaussian settings with the authors' optimizer and networks (``mixture_grid25``), and its table
gives per optimizer the paper's mode count (10,000 samples, each assigned to the nearest mode;
a mode counts with one sample) beside the stricter count of :mod:`ali_opt.metrics.mode_coverage` and
the fraction of high-quality samples. ``benchmark=grid25_cpu`` applies :data:`GRID25_CPU`, a
CPU-sized setting that is not the authors' (the table's first line names the setting that
produced it). ``grid25`` and ``grid25_cpu`` are also named configs.
"""
from __future__ import annotations

import ali_opt  # noqa: F401  (quiets Sacred's import warning)
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
from sacred import Experiment
from sacred.utils import apply_backspaces_and_linefeeds

from ali_opt.runtime.checkpoint import checkpoint_path, load_checkpoint
from ali_opt.data.mixtures import MIXTURES, mixture_centers, mixture_std, sample_mixture
from ali_opt.runtime.devices import resolve_device
from ali_opt.runtime.sacred_setup import file_observer_folder, run_commandline
from ali_opt.config import PAPER_OPTIMIZER, add_training_configs
from ali_opt.errors import ConfigError, check_choice, check_positive
from ali_opt.metrics.reconstruction import evaluation_mode
from ali_opt.metrics.mode_coverage import high_quality_fraction, modes_covered
from ali_opt.models import VECTOR_MODELS
from ali_opt.plots.mixture import MixtureModel, plot_mixture
from ali_opt.training import build_run

from ali_opt.plots.all_figures import draw_all
from ali_opt.sweeps.comparison import add_study_hook, comparison_groups, train_comparison
from ali_opt.sweeps.mixture_ensembles import check_members, run_ensembles

from . import train_ali

SAMPLES = 2000
"""Generated points that modes are counted from (and that the figure shows)."""

RECONSTRUCTED = 300
"""Held-out points whose reconstructions the figure shows."""

AUTHORS_MIXTURE_OPTIMIZER = dict(PAPER_OPTIMIZER, name="", lr={"d": 1e-4, "g": 1e-4}, betas=[0.2, 0.999])
"""The optimizer of the authors' 25-Gaussian script (IshmaelBelghazi/ALI ``experiments/ali_mixture.py``
at a7d4235): Blocks' ``Adam(learning_rate=1e-4, beta1=0.8)`` for both players. The Blocks of
2016 took Adam's decay rates as one minus Kingma and Ba's (its defaults ``beta1=0.1,
beta2=0.001``; the ALI paper's tables also write beta2 = 1e-3): its ``beta1=0.8``
keeps 0.2 of the running mean, torch's ``betas[0] = 0.2``, and its default ``beta2`` is torch's
0.999. Epsilon 1e-8 in both."""

GRID25 = {
    "model": "mixture_grid25",  # the networks of the authors' final script (ali_opt/models/mixture_grid25.py)
    "width": 1.0,
    "data": {"name": "grid", "heldout": 500, "download": False},  # 5 x 5 modes, std 0.05, 100,000 points
    "optimizer": AUTHORS_MIXTURE_OPTIMIZER,  # Adam 1e-4, Blocks' beta1 0.8 (torch's betas 0.2, 0.999)
    "dropout": False,  # the script trains without dropout
    "comparison": [
        {"name": "adam"},
        {"name": "alt_adam"},
        {"name": "extra_adam"},
        {"name": "optimistic_adam"},
        {"name": "past_extra_adam"},
        {"name": "gda", "lr": {"d": 3e-2, "g": 3e-2}},
        {"name": "extragradient", "lr": {"d": 3e-2, "g": 3e-2}},
    ],
    "batch_size": 100,
    "members": 10,  # the paper's 10 runs per model, as one ensemble per optimizer
    "steps": 200_000,  # the script's 200 epochs of 100,000 points at batch 100 (GPU-sized; see the README)
    "log_every": 50,
    "checkpoint_every": 500,
}
"""The ALI paper's 25-Gaussian benchmark (Dumoulin et al. 2016, Section 5): data as in the paper;
optimizer, batch, dropout (off) and length as in the authors' ``experiments/ali_mixture.py``
(:data:`AUTHORS_MIXTURE_OPTIMIZER`); networks as the same script builds them
(``mixture_grid25``: :mod:`ali_opt.models.mixture_grid25`)."""

GRID25_CPU = {
    **GRID25,
    "model": "mixture_paper",  # the networks of the script's May 2016 versions, with which the table was made
    "optimizer": dict(PAPER_OPTIMIZER, name="", lr={"d": 1e-3, "g": 1e-3}),  # Adam 1e-3, beta1 0.5: not the authors'
    "dropout": True,  # dropout 0.2 on the discriminator's input, 0.5 above
    "width": 0.25,
    "steps": 1500,
}
"""A CPU-sized 25-Gaussian benchmark, not the authors' settings: the networks of the script's May 2016
versions (``mixture_paper``) at quarter width, 1,500 steps, Adam at 1e-3 with beta1 0.5 and dropout on. These are the settings of the first ``benchmark=grid25``
(with ``width=0.25 steps=1500``), which produced ``docs/benchmarks/grid25_modes_table.md``."""

BENCHMARKS = {"grid25": GRID25, "grid25_cpu": GRID25_CPU}

ex = Experiment("ali_mixture", save_git_info=False)
ex.captured_out_filter = apply_backspaces_and_linefeeds
add_training_configs(ex)
ex.add_named_config("grid25", {"benchmark": "grid25"})
ex.add_named_config("grid25_cpu", {"benchmark": "grid25_cpu"})


@ex.config
def study_config():
    model = "mlp"
    data = {"name": "ring", "heldout": 500, "download": False}  # ring (8 modes) or grid (25)
    optimizer = dict(PAPER_OPTIMIZER, name="", lr={"d": 1e-3, "g": 1e-3})  # name "": the whole comparison
    batch_size = 256
    steps = 3000
    log_every = 25
    eval_every = 250
    checkpoint_every = 500
    threads = 1  # a step of the small MLPs is far slower with more torch threads
    output = "runs/ali_mixture"
    comparison = [  # what each comparison run changes in `optimizer`
        {"name": "adam"},
        {"name": "alt_adam"},
        {"name": "extra_adam"},
        {"name": "optimistic_adam"},
        {"name": "past_extra_adam"},
        {"name": "gda", "lr": {"d": 3e-2, "g": 3e-2}},
        {"name": "extragradient", "lr": {"d": 3e-2, "g": 3e-2}},
    ]
    seeds = 1  # runs per comparison entry, with seeds seed, seed+1, ...
    pdf = False  # also write the figures as PDF
    members = 1  # > 1: each entry trains seeds seed..seed+members-1 as one vmapped ensemble
    benchmark = ""  # "grid25": the ALI paper's 25-Gaussian protocol and table (GRID25); "grid25_cpu": CPU-sized
    resume_ensembles = ""  # members > 1: the run folder of an ensemble comparison to continue
    if benchmark in BENCHMARKS:  # its settings; any of them can still be changed on the command line
        model = BENCHMARKS[benchmark]["model"]
        width = BENCHMARKS[benchmark]["width"]
        data = BENCHMARKS[benchmark]["data"]
        optimizer = BENCHMARKS[benchmark]["optimizer"]
        dropout = BENCHMARKS[benchmark]["dropout"]
        comparison = BENCHMARKS[benchmark]["comparison"]
        batch_size = BENCHMARKS[benchmark]["batch_size"]
        members = BENCHMARKS[benchmark]["members"]
        steps = BENCHMARKS[benchmark]["steps"]
        log_every = BENCHMARKS[benchmark]["log_every"]
        checkpoint_every = BENCHMARKS[benchmark]["checkpoint_every"]


def check_mixture_config(config: dict) -> None:
    check_choice("data.name", config["data"]["name"], MIXTURES)
    check_choice("model", config["model"], VECTOR_MODELS)
    check_choice("benchmark", config["benchmark"], ("", *BENCHMARKS))
    check_positive("members", config["members"], integer=True)
    noisy = [entry for entry in [config, *config["comparison"]] if (entry.get("instance_noise") or {}).get("std", 0)]
    if config["members"] > 1 and noisy:
        raise ConfigError(f"instance_noise={noisy[0]['instance_noise']!r} is not valid with members="
                          f"{config['members']}: ensembles do not add instance noise yet; set members=1")
    check_members(config)
    if config["resume_ensembles"] and config["members"] == 1:
        raise ConfigError(f"resume_ensembles={config['resume_ensembles']!r} is only for ensembles; set members > 1 "
                          "or use resume=<run folder>")
    if config["members"] > 1 and resolve_device(config["device"]).type != "cpu":
        raise ConfigError(f"device={config['device']!r} is not valid with members={config['members']}: "
                          "ensembles of the "
                          "mixture study run on the CPU for now; set device=cpu")
    if config["resume_ensembles"] and not Path(config["resume_ensembles"]).is_dir():
        raise ConfigError(f"resume_ensembles={config['resume_ensembles']!r} is not a folder; give the run folder of "
                          "an ensemble comparison (it holds <optimizer>.checkpoint.pt files)")


add_study_hook(ex, check_mixture_config)


@ex.main
def main(_config, _run, _log):
    config = dict(_config)
    if config["members"] > 1:
        return run_ensembles(config, _run, _log)
    if config["optimizer"]["name"]:
        return train_one(config, _run, _log)
    return compare(config, _run, _log)


def train_one(config: dict, sacred_run, log) -> dict:
    """Train the chosen optimizer as ``sacred_run``; add the mixture figure; the result with its coverage."""
    result = train_ali.train_run(config, sacred_run, log)
    run_dir = file_observer_folder(sacred_run)
    model = evaluate(run_dir, config["optimizer"]["name"]) if run_dir else None
    if model is None:
        log.warning("no checkpoint: modes are not counted and no figure is drawn")
        return result
    with tempfile.TemporaryDirectory() as folder:
        for path in draw([model], config["data"]["name"], Path(folder) / "mixture", config["pdf"]):
            sacred_run.add_artifact(path)
    return {**result, "modes_covered": model.covered, "high_quality": model.high_quality}


def compare(config: dict, sacred_run, log) -> dict:
    """Train every comparison entry and seed as its own run of :mod:`studies.train_ali`; add the
    figures to ``sacred_run``; the result of each trained run with its coverage."""
    output = Path(config["output"])
    outcomes = train_comparison(train_ali.ex, config, log)
    groups = comparison_groups(config, outcomes)
    models = {run.folder.name: evaluate(run.folder, group.label + (f" seed {run.seed}" if len(group.runs) > 1 else ""))
              for group in groups for run in group.runs}
    drawn = [model for model in models.values() if model is not None]
    figures = draw(drawn, config["data"]["name"], output / "figures" / "mixture", config["pdf"]) if drawn else []
    figures += draw_all(groups, output / "figures", pdf=config["pdf"])
    for path in figures:
        sacred_run.add_artifact(path)
    for outcome in outcomes:
        model = models[outcome["run"]]
        outcome["modes_covered"] = model.covered if model else None
        outcome["high_quality"] = model.high_quality if model else None
        log.info("%s, seed %d: %s modes covered", outcome["optimizer"], outcome["seed"], outcome["modes_covered"])
    return {"runs": outcomes, "figures": [str(path) for path in figures]}


@torch.no_grad()
def evaluate(run_folder: Path, label: str) -> MixtureModel | None:
    """The model of the run in ``run_folder`` at its last checkpoint, as the figure shows it (None without one)."""
    if not checkpoint_path(run_folder).is_file():
        return None
    checkpoint = load_checkpoint(run_folder, key="checkpoint")
    config = checkpoint["config"]
    parts = build_run(config)
    game = parts.game
    game.load_state_dict(checkpoint["game"])
    kind = config["data"]["name"]
    centers, std = mixture_centers(kind), mixture_std(kind)
    generator = torch.Generator(parts.device).manual_seed(0)
    with evaluation_mode(game):
        samples = game.generate(torch.randn((SAMPLES, *game.latent_shape), generator=generator, device=parts.device))
        heldout = parts.dataset.heldout[:RECONSTRUCTED]
        reconstructions = game.reconstruct(heldout)
    covered, _ = modes_covered(samples, centers, std)
    stopped_early = checkpoint["step"] < config["steps"]
    return MixtureModel(label, samples, heldout, reconstructions, covered, high_quality_fraction(samples, centers, std),
                        note=f"shown at step {checkpoint['step']} of {config['steps']}" if stopped_early else "")


def draw(models: Sequence[MixtureModel], kind: str, path: Path, pdf: bool) -> list[Path]:
    """The mixture figure of ``models`` over :data:`SAMPLES` points of mixture ``kind``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = sample_mixture(kind, SAMPLES, torch.Generator().manual_seed(0))
    return plot_mixture(models, data, mixture_centers(kind), path, pdf)


if __name__ == "__main__":
    run_commandline(ex)

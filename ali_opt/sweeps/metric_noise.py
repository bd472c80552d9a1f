"""A sample metric's own noise: a run's final networks evaluated under other prior draws.

A sample metric of a run (KID, FID, coverage, class FID, ...) depends on the trained networks
and on the prior draws z behind the samples it scores. Every evaluation of every run uses the
same draws (seed :data:`~ali_opt.metrics.evaluation.SAMPLE_SEED`), so the spread of a final
value over training seeds mixes two sources: how the networks differ, and how the one fixed
set of draws happens to fall for each network. Evaluating each final checkpoint again with
draws seeded ``SAMPLE_SEED + 1``, ..., ``SAMPLE_SEED + noise_draws`` measures the second source
alone: the spread over draws of one run is the metric's noise at that run; compared with the
spread over seeds, it says how much of the seed spread the metric itself adds.

The values are stored beside the run (``noise_draws.json`` in its folder), so a re-run of a
study reads them instead of computing them again.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from ali_opt.metrics.evaluation import SAMPLE_SEED, sample_metrics
from ali_opt.metrics.run_digit_measures import DIGIT_METRICS
from ali_opt.metrics.run_sample_quality import SAMPLE_METRICS
from ali_opt.records.runs import Run
from ali_opt.runtime.atomic import write_atomically
from ali_opt.runtime.checkpoint import load_checkpoint
from ali_opt.training import build_run

NOISE_FILE = "noise_draws.json"

DRAWN_METRICS = (*SAMPLE_METRICS, *(name for name in DIGIT_METRICS if name != "recon_class_accuracy"))
"""The metrics of generated samples: those that depend on the prior draws (reconstructions,
the probe and MSE do not, so their noise over draws is 0 by construction)."""


def depends_on_draws(metric: str) -> bool:
    return metric.removesuffix("_valid") in DRAWN_METRICS


def noise_values(run: Run, metric: str, draws: int) -> list[float]:
    """``metric`` of ``run``'s final networks under ``draws`` other prior draws (seeds
    ``SAMPLE_SEED + 1`` on), after the value it logged last (the draws of ``SAMPLE_SEED``);
    read from the run's :data:`NOISE_FILE` when it holds them."""
    folder = run.parts[-1]  # the part that finished the run holds its final checkpoint
    logged = run.last_value(metric)
    stored = _read(folder).get(metric, [])
    if len(stored) < draws:
        stored = _evaluate(folder, metric, draws)
        _write(folder, {**_read(folder), metric: stored})
    return [logged, *stored[:draws]]


def noise_table(runs: Sequence[Run], metric: str, draws: int, progress: bool = True) -> list[list[float]]:
    """:func:`noise_values` of each of ``runs``, in order, with a progress bar; only the logged
    values for a metric that does not :func:`depend_on_draws <depends_on_draws>`."""
    if not depends_on_draws(metric):
        return [[run.last_value(metric)] for run in runs]
    bar = tqdm(runs, desc=f"{metric} under {draws} other prior draws", unit="run", disable=not progress)
    return [noise_values(run, metric, draws) for run in bar]


def _evaluate(folder: Path, metric: str, draws: int) -> list[float]:
    checkpoint = load_checkpoint(folder, key="run")
    parts = build_run(dict(checkpoint["config"], device="cpu"))
    parts.game.load_state_dict(checkpoint["game"])
    values = []
    for seed in range(SAMPLE_SEED + 1, SAMPLE_SEED + 1 + draws):
        measured = sample_metrics(parts.game, parts.dataset, checkpoint["config"], seed)
        if metric not in measured:
            raise KeyError(f"{metric!r} is not a sample metric of this run; its sample metrics: {sorted(measured)}")
        values.append(float(measured[metric]))
    return values


def _read(folder: Path) -> dict[str, list[float]]:
    path = Path(folder) / NOISE_FILE
    if not path.is_file():
        return {}
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # an unreadable file is recomputed and replaced
    return {key: [math.nan if value is None else float(value) for value in values] for key, values in stored.items()
            if isinstance(values, list) and all(value is None or isinstance(value, (int, float)) for value in values)}


def _write(folder: Path, values: dict[str, list[float]]) -> None:
    write_atomically(Path(folder) / NOISE_FILE,
                     lambda file: json.dump({key: [v if math.isfinite(v) else None for v in vals]
                                             for key, vals in values.items()}, file))

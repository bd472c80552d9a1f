"""What the two-stage study found, as plain values: the :class:`StudyReport` that
:func:`ali_opt.records.study_report.study_report` computes from the runs, and that the tables
(:func:`~ali_opt.records.study_report.write_study_report`) and the figures
(:func:`ali_opt.plots.study_figures.draw_study`) only read.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .runs import Run
from .selection import Cells, Rule
from .stability import ScaleStability, StableScale
from .statistics import Interval, PairComparison


@dataclass(frozen=True)
class MetricNoise:
    """The primary outcome's spread at one entry's stage-two seeds: ``metric_noise_sd``, the
    pooled within-seed standard deviation over prior draws of one final checkpoint, beside
    ``seed_sd``, the standard deviation over seeds of the logged value (both ddof 1; NaN where
    undefined)."""

    metric_noise_sd: float
    seed_sd: float

    @property
    def ratio(self) -> float:
        """``metric_noise_sd / seed_sd``: near 1, the metric's own noise explains the seed spread;
        near 0, the networks differ. NaN when either is undefined or the seeds agree."""
        if not (math.isfinite(self.metric_noise_sd) and math.isfinite(self.seed_sd)) or self.seed_sd == 0:
            return math.nan
        return self.metric_noise_sd / self.seed_sd


@dataclass(frozen=True)
class CurveBand:
    """One metric of one entry's stage-two seeds against the cost clock: each seed's curve
    (``seeds``, ``(x, y)``; ``diverged``: whether it stopped early at a non-finite value) and, at
    the steps every seed logged, the mean over the seeds (``x``: their mean cost) and its t
    interval [``low``, ``high``]."""

    seeds: tuple[tuple[np.ndarray, np.ndarray], ...]
    diverged: tuple[bool, ...]
    x: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass(frozen=True)
class StudyReport:
    """Everything the study's tables and figures state (see :mod:`ali_opt.records.study_report`).

    Stage one, per entry: ``grids`` (the scales tried, extensions included), ``selected`` (its
    scale; None: none eligible), per scale ``seed_scores`` (each seed's score on
    ``rule.select_by``, NaN for a seed that diverged) and ``scores`` (the mean over the seeds,
    NaN where the scale cannot be selected), ``stability`` (a :class:`ScaleStability` per
    scale), ``brackets`` (where the best scale lies among the tried ones) and
    ``largest_stable`` (None without runs); ``selection_baselines``: the untrained value and
    the floor of ``select_by`` over stage one's runs.

    Stage two, per entry at its selected scale: ``outcomes`` (per metric, ``primary`` first,
    the mean over seeds of the last evaluation and its t interval), ``failure_rates``,
    ``noise`` and ``curves`` (per metric, a :class:`CurveBand` against ``clock``); per metric
    ``baselines`` (``untrained``, ``floor``, ``mean_image`` over stage two's runs); the pairs
    (``comparisons``) and the equivalence ``margin`` they were tested against (``margin_given``:
    given, else the default);
    ``stability_noise``, the noise that ``degraded`` allowed.
    """

    rule: Rule
    primary: str
    selection: Cells
    grids: dict[str, tuple[float, ...]]
    selected: dict[str, float | None]
    seed_scores: dict[str, dict[float, tuple[float, ...]]]
    scores: dict[str, dict[float, float]]
    stability: dict[str, dict[float, ScaleStability]]
    brackets: dict[str, str]
    largest_stable: dict[str, StableScale | None]
    selection_baselines: dict[str, float]
    confirmation: Cells
    outcome_metrics: tuple[str, ...]
    outcomes: dict[str, dict[str, Interval]]
    failure_rates: dict[str, float]
    baselines: dict[str, dict[str, float]]
    margin: float
    margin_given: bool
    comparisons: tuple[PairComparison, ...]
    noise: dict[str, MetricNoise]
    stability_noise: float
    clock: str | None
    curves: dict[str, dict[str, CurveBand]]

    @property
    def entries(self) -> list[str]:
        """Every entry, in the order of stage one (then any only in stage two)."""
        return list(dict.fromkeys([*self.grids, *self.selection, *self.confirmation]))

    def confirmation_runs(self, entry: str) -> list[Run]:
        """``entry``'s stage-two runs at its selected scale (none without a selection)."""
        scale = self.selected.get(entry)
        return list(self.confirmation.get(entry, {}).get(scale, [])) if scale is not None else []

    def selection_seeds(self, entry: str) -> int:
        """The most seeds any of ``entry``'s stage-one scales ran."""
        return max((len(runs) for runs in self.selection.get(entry, {}).values()), default=0)

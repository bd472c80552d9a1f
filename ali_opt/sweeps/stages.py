"""The two stages of a step-size study: scales selected on a few seeds, verdicts on fresh ones.

**Stage one, selection.** Every comparison entry is trained at every scale of its grid on
``selection_seeds`` seeds (``seed``, ``seed + 1``, ...), each cell evaluated at the end of the
budget only (and at step 0, the untrained model, which the step-0 cache serves). Each entry's
scale is selected on ``select_by`` (:mod:`ali_opt.records.selection`). With ``bracketing`` on,
the grid grows where it does not bracket the answer (:mod:`ali_opt.records.bracketing`): by
``bracket_factor`` beyond an edge that holds the best scale, and upwards until a scale fails,
for at most ``bracket_rounds`` extensions.

**Stage two, confirmation.** Every entry is trained at its selected scale on
``confirmation_seeds`` fresh seeds (``confirmation_seed``, ``confirmation_seed + 1``, ...;
disjoint from stage one's), evaluated at every ``eval_points`` fraction. Only these runs give
the outcome tables and the verdicts, so the optimism of the selection (the winner's curse)
does not pass into them. Seed ``s`` of every entry starts from the same networks, so the
comparisons are paired.

Each cell's config records its stage (``sweep.stage``). Re-running the study skips finished
cells and resumes interrupted ones; every decision (extensions, selection) is recomputed from
the runs that finished, so an interrupted stage one ends with the selection an uninterrupted
one would have made.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ali_opt.errors import ConfigError, check_bool, check_integer, check_positive
from ali_opt.metrics.run_digit_measures import DIGIT_DATASET, DIGIT_METRICS
from ali_opt.metrics.run_sample_quality import SAMPLE_METRICS
from ali_opt.models import VECTOR_MODELS
from ali_opt.records.bracketing import check_bracketing, next_scales
from ali_opt.records.runs import Run
from ali_opt.records.selection import DIRECTIONS, Cells, Rule, selection_rule, selection_score, sweep_runs
from ali_opt.records.stability import run_stability
from ali_opt.runtime import Cell

from .grid import check_sweep_config, entry_label, grid_cells

SELECTION = "selection"
CONFIRMATION = "confirmation"
STAGES = (SELECTION, CONFIRMATION)

SELECTION_EVAL_POINTS = [0, 1.0]
"""Stage one evaluates at the end of the budget; step 0 comes from the step-0 cache."""


@dataclass(frozen=True)
class StudyDesign:
    """The seeds of each stage and how far stage one may extend its grid of scales."""

    selection_seeds: int
    confirmation_seeds: int
    confirmation_seed: int
    bracketing: bool
    bracket_factor: float
    bracket_rounds: int

    @classmethod
    def from_config(cls, config: dict) -> StudyDesign:
        """The design of a study config, checked: one :class:`ConfigError` line for the first bad key."""
        check_positive("selection_seeds", config["selection_seeds"], integer=True)
        confirmation = config["confirmation_seeds"]
        check_integer("confirmation_seeds", confirmation)
        if confirmation < 2:
            raise ConfigError(f"confirmation_seeds={confirmation!r} is not valid; stage two needs at least 2 seeds "
                              "per optimizer for an interval and a test (8 by default)")
        check_integer("confirmation_seed", config["confirmation_seed"])
        check_bool("bracketing", config["bracketing"])
        check_bracketing(config["bracket_factor"], config["bracket_rounds"])
        design = cls(config["selection_seeds"], confirmation, config["confirmation_seed"], config["bracketing"],
                     float(config["bracket_factor"]), config["bracket_rounds"])
        overlap = set(design.selection_seed_list(config["seed"])) & set(design.confirmation_seed_list())
        if overlap:
            above, below = config["seed"] + design.selection_seeds, config["seed"] - design.confirmation_seeds
            raise ConfigError(f"confirmation_seed={design.confirmation_seed} is not valid: confirmation seeds "
                              f"{sorted(overlap)} are also selection seeds; give a first confirmation seed >= {above}"
                              + (f" or <= {below}" if below >= 0 else ""))
        return design

    def selection_seed_list(self, seed: int) -> list[int]:
        return list(range(seed, seed + self.selection_seeds))

    def confirmation_seed_list(self) -> list[int]:
        return list(range(self.confirmation_seed, self.confirmation_seed + self.confirmation_seeds))


def check_study(config: dict) -> StudyDesign:
    """Check a two-stage study's keys before any cell runs (one :class:`ConfigError` line for the
    first bad one): the sweep's keys, the design's, every first-round cell's training config
    (stage two's evaluation points included), then ``primary``, ``equivalence_margin`` and
    ``noise_draws``; return the design."""
    check_sweep_config(config)
    design = StudyDesign.from_config(config)
    first = initial_scales(config)
    selection_cells(config, design, first)
    confirmation_cells(config, design, {label: grid[0] for label, grid in first.items()})
    outcomes = primary_outcomes(config)
    if config["primary"] not in outcomes:
        raise ConfigError(f"primary={config['primary']!r} is not valid; it must be a test outcome the runs of this "
                          f"config log, one of: {', '.join(outcomes)}")
    if config["equivalence_margin"] is not None:  # None: 10% of the primary's untrained-to-floor range
        check_positive("equivalence_margin", config["equivalence_margin"])
    check_positive("noise_draws", config["noise_draws"], integer=True)
    return design


def primary_outcomes(config: dict) -> list[str]:
    """The test outcomes with a direction (:data:`ali_opt.records.selection.DIRECTIONS`) that a
    training run of ``config`` logs at every evaluation: what ``primary`` may name."""
    outcomes = ["recon_mse"]
    if config["probe"]["images"]:
        outcomes.append("probe_accuracy")
    if config["sample_quality"]["samples"] and config["model"] not in VECTOR_MODELS:
        outcomes += [name for name in SAMPLE_METRICS if name in DIRECTIONS]
    if config["data"]["name"] == DIGIT_DATASET and config["digits"]["samples"]:
        outcomes += DIGIT_METRICS
    return outcomes


def selection_cells(config: dict, design: StudyDesign, scales: dict[str, Sequence[float]]) -> list[Cell]:
    """Stage one's cells: each entry at each of its ``scales`` on the selection seeds, evaluated
    at :data:`SELECTION_EVAL_POINTS`."""
    return grid_cells(config, scales, design.selection_seed_list(config["seed"]), stage=SELECTION,
                      eval_points=SELECTION_EVAL_POINTS)


def confirmation_cells(config: dict, design: StudyDesign, selected: dict[str, float | None]) -> list[Cell]:
    """Stage two's cells: each entry with a selected scale, on the confirmation seeds, evaluated
    at the study's ``eval_points``."""
    scales = {label: [scale] for label, scale in selected.items() if scale is not None}
    return grid_cells(config, scales, design.confirmation_seed_list(), stage=CONFIRMATION)


def initial_scales(config: dict) -> dict[str, list[float]]:
    """Every entry's grid before any extension: ``lr_scales``."""
    return {entry_label(entry): sorted(config["lr_scales"]) for entry in config["comparison"]}


def grown(scales: dict[str, list[float]], extensions: dict[str, Sequence[float]]) -> dict[str, list[float]]:
    """Each entry's grid with its extensions added (sorted, each scale once)."""
    return {label: sorted(set(grid) | set(extensions.get(label, ()))) for label, grid in scales.items()}


def run_selection(config: dict, design: StudyDesign,
                  run_stage: Callable[[list[Cell]], list[Run]]) -> tuple[list[Run], dict[str, list[float]], Rule]:
    """Stage one: run the grid, then, with bracketing on, round after round (at most
    ``bracket_rounds``), the scales :func:`extensions` asks for given the finished runs.
    Returns the finished runs, each entry's final grid and the selection rule (the config's
    ``select_by``, ``select_last``, ``select_rule``, checked against what the runs logged).

    ``run_stage`` runs cells and returns the runs of every finished cell. Earlier rounds'
    cells are passed again (finished ones are skipped), so a re-run of the study recomputes
    every decision from what finished."""
    scales = initial_scales(config)
    runs = run_stage(selection_cells(config, design, scales))
    rule = selection_rule(sweep_runs(runs, SELECTION), config["select_by"], config["select_last"],
                          config["select_rule"])
    for round_index in range(design.bracket_rounds if design.bracketing else 0):
        added = extensions(sweep_runs(runs, SELECTION), scales, design, rule, round_index)
        if not any(added.values()):
            break
        scales = grown(scales, added)
        runs = run_stage(selection_cells(config, design, scales))
    return runs, scales, rule


def extensions(cells: Cells, scales: dict[str, list[float]], design: StudyDesign, rule: Rule,
               rounds_done: int) -> dict[str, list[float]]:
    """The scales each entry's grid needs next (:func:`ali_opt.records.bracketing.next_scales`),
    from stage one's runs: a scale's score is its selection score (validation only) and it
    failed when a seed diverged or ended worse than the untrained model on ``select_by``."""
    added = {}
    for label, grid in scales.items():
        by_scale = cells.get(label, {})
        scores = {scale: selection_score(by_scale.get(scale, []), rule) for scale in grid}
        failed = {scale: any(run_stability(run, rule.select_by, noise=0.0).failed for run in by_scale.get(scale, []))
                  for scale in grid}
        added[label] = list(next_scales(scores, failed, rounds_done, design.bracket_factor,
                                        design.bracket_rounds).next_scales)
    return added

"""Bracketing each optimizer's best step size: which scales stage one tries next.

Stage one of the main study starts each optimizer from the grid ``lr_scales``. After each
round of runs, every tried scale has a *score*, the mean over the selection seeds of the
selection outcome signed so that lower is better (+inf or NaN where the scale cannot be
selected: :func:`ali_opt.records.selection.selection_score`), and a *failed* flag (a seed
diverged or degraded there: :mod:`ali_opt.records.stability`). The *best* scale is the one
with the lowest finite score, ties to the smaller scale, as the selection rule has it. Then
(:func:`next_scales`):

- the best scale is on the **lower edge** of the tried scales: try ``smallest / bracket_factor``;
- the best scale is on the **upper edge**, or **no scale above the best failed** (the stable
  range is not yet bounded above; a failure below the best, such as a step too small to learn
  anything in the budget, does not bound it): try ``largest * bracket_factor``;
- no scale can be selected (every one diverged, say): try ``smallest / bracket_factor``;
- otherwise the best is **interior** and a failing scale bounds it above: nothing to add.

At most ``bracket_rounds`` rounds add scales (default 2; 0 keeps the grid fixed), each
round the smaller and the larger extension as needed, ``bracket_factor`` apart (default 4,
> 1). Afterwards the ``bracket`` reported is ``interior`` (the best scale has a tried scale
on each side), ``lower edge`` or ``upper edge`` (it is the smallest or the largest tried:
the optimum may lie beyond), ``single scale`` (one scale tried) or ``none`` (no scale could
be selected). :func:`bracket_scales` runs the rounds against a callback that measures
scales, so that a resumed study replays the rounds its runs already answer.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ..errors import ConfigError, check_integer

BRACKET_FACTOR = 4.0
BRACKET_ROUNDS = 2

Measure = Callable[[list[float]], Mapping[float, tuple[float, bool]]]
"""Measures new scales: for each, its score (lower is better) and whether a seed failed there."""


@dataclass(frozen=True)
class Bracket:
    """Where the best of the tried scales lies, and the scales to try next (none: done)."""

    best: float | None
    position: str
    next_scales: tuple[float, ...] = ()


def check_bracketing(bracket_factor: float, bracket_rounds: int) -> None:
    """One :class:`ConfigError` line for a ``bracket_factor`` that is not a number > 1 or a
    ``bracket_rounds`` that is not an integer >= 0."""
    if isinstance(bracket_factor, bool) or not isinstance(bracket_factor, (int, float)) or not bracket_factor > 1 \
            or not math.isfinite(bracket_factor):
        raise ConfigError(f"bracket_factor={bracket_factor!r} is not valid; it must be a finite number > 1 "
                          f"(the ratio between a grid's edge and the scale added beyond it)")
    check_integer("bracket_rounds", bracket_rounds, 0, note="0: a fixed grid, no scale added")


def bracket_position(scores: Mapping[float, float]) -> tuple[float | None, str]:
    """The best scale of ``scores`` (lowest finite score, ties to the smaller scale) and its
    position among the tried scales (module docstring); ``(None, "none")`` when no score is finite."""
    scored = sorted((score, scale) for scale, score in scores.items() if math.isfinite(score))
    if not scored:
        return None, "none"
    best = scored[0][1]
    if len(scores) == 1:
        return best, "single scale"
    if best == min(scores):
        return best, "lower edge"
    if best == max(scores):
        return best, "upper edge"
    return best, "interior"


def next_scales(scores: Mapping[float, float], failed: Mapping[float, bool], rounds_done: int,
                bracket_factor: float = BRACKET_FACTOR, bracket_rounds: int = BRACKET_ROUNDS) -> Bracket:
    """The best tried scale, its position, and the scales of the next round (module docstring):
    none once ``rounds_done`` reaches ``bracket_rounds``. ``scores`` and ``failed`` hold every
    tried scale."""
    check_bracketing(bracket_factor, bracket_rounds)
    if set(scores) != set(failed):
        raise ValueError(f"scores and failed flags must cover the same scales, got {sorted(scores)} "
                         f"and {sorted(failed)}")
    best, position = bracket_position(scores)
    if rounds_done >= bracket_rounds:
        return Bracket(best, position)
    smallest, largest = min(scores), max(scores)
    added = set()
    if best is None or best == smallest:
        added.add(smallest / bracket_factor)
    failed_above = any(failing for scale, failing in failed.items() if best is None or scale > best)
    if best == largest or not failed_above:
        added.add(largest * bracket_factor)
    return Bracket(best, position, tuple(sorted(added - set(scores))))


def bracket_scales(initial: Iterable[float], measure: Measure, bracket_factor: float = BRACKET_FACTOR,
                   bracket_rounds: int = BRACKET_ROUNDS) -> tuple[dict[float, float], dict[float, bool], Bracket]:
    """Measure ``initial`` scales, then the scales of :func:`next_scales` round after round
    until it adds none. Returns every tried scale's score and failed flag, and the final
    :class:`Bracket`. A fixed grid (``bracket_rounds`` 0) measures ``initial`` only."""
    check_bracketing(bracket_factor, bracket_rounds)
    scores: dict[float, float] = {}
    failed: dict[float, bool] = {}
    pending, rounds = sorted(set(map(float, initial))), 0
    if not pending:
        raise ConfigError("lr_scales=[] is not valid; give at least one step-size scale")
    while True:
        for scale, (score, failing) in measure(pending).items():
            scores[scale], failed[scale] = score, bool(failing)
        bracket = next_scales(scores, failed, rounds, bracket_factor, bracket_rounds)
        if not bracket.next_scales:
            return scores, failed, bracket
        pending, rounds = list(bracket.next_scales), rounds + 1

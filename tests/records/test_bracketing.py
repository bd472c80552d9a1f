"""Bracketing the best step size, on synthetic score tables: the score of a scale is its squared
log-distance to a chosen optimum, and scales from a chosen one up fail (score +inf)."""
from __future__ import annotations

import math

import pytest

from ali_opt.errors import ConfigError
from ali_opt.records.bracketing import Bracket, bracket_position, bracket_scales, next_scales


def table(optimum: float, fails_from: float = math.inf):
    """A measuring callback over the synthetic table, recording the rounds it was asked for."""
    rounds = []

    def measure(scales):
        rounds.append(list(scales))
        return {scale: (math.inf if scale >= fails_from else math.log(scale / optimum) ** 2, scale >= fails_from)
                for scale in scales}
    return measure, rounds


def test_a_best_scale_on_the_upper_edge_is_extended_until_it_is_interior_below_a_failure():
    measure, rounds = table(optimum=10, fails_from=64)
    scores, failed, bracket = bracket_scales([1, 4], measure)
    assert rounds == [[1, 4], [16], [64]]  # 4 is best at the edge, then 16; 64 fails
    assert bracket == Bracket(16, "interior") and failed == {1: False, 4: False, 16: False, 64: True}


def test_a_bracketed_best_is_still_extended_upward_until_a_scale_fails():
    measure, rounds = table(optimum=4, fails_from=256)
    _, failed, bracket = bracket_scales([1, 4, 16], measure)
    assert rounds == [[1, 4, 16], [64], [256]] and failed[256] and not failed[64]
    assert bracket == Bracket(4, "interior")


def test_a_failure_below_the_best_does_not_stop_the_search_upward():
    """The smallest scale fails (too small a step to learn in the budget): the stable range is
    still unbounded above the interior best, so the grid grows upward until a scale fails."""
    scores = {0.25: 0.59, 1: 0.28, 8: 0.42, 32: 0.52}
    failed = {0.25: True, 1: False, 8: False, 32: False}
    assert next_scales(scores, failed, rounds_done=0) == Bracket(1, "interior", (128,))
    assert next_scales(scores, {**failed, 32: True}, rounds_done=0) == Bracket(1, "interior")


def test_the_cap_on_rounds_is_respected_and_the_edge_reported():
    measure, rounds = table(optimum=0.01, fails_from=16)
    _, _, bracket = bracket_scales([1, 4], measure)
    # round 1: 1 is best at the lower edge (0.25 added) and nothing failed yet (16 added); round 2:
    # 0.25 at the lower edge again (0.0625 added; 16 failed, so nothing above); then the cap.
    assert rounds == [[1, 4], [0.25, 16], [0.0625]]
    assert bracket == Bracket(0.0625, "lower edge")
    measure, rounds = table(optimum=0.01, fails_from=16)
    assert bracket_scales([1, 4], measure, bracket_factor=2, bracket_rounds=1)[2] == Bracket(0.5, "lower edge")
    assert rounds == [[1, 4], [0.5, 8]]


def test_a_fixed_grid_measures_its_scales_only():
    measure, rounds = table(optimum=100)
    scores, _, bracket = bracket_scales([1, 8], measure, bracket_rounds=0)
    assert rounds == [[1, 8]] and set(scores) == {1, 8} and bracket == Bracket(8, "upper edge")


def test_positions_and_a_grid_where_nothing_can_be_selected():
    assert bracket_position({1: 0.3, 4: 0.2, 16: 0.2}) == (4, "interior")  # ties go to the smaller scale
    assert bracket_position({2: 0.3}) == (2, "single scale")
    assert bracket_position({1: math.inf, 4: math.nan}) == (None, "none")
    bracket = next_scales({1: math.inf, 4: math.inf}, {1: True, 4: True}, rounds_done=0)
    assert bracket == Bracket(None, "none", (0.25,))  # everything failed: look below
    assert next_scales({2: 0.3}, {2: False}, rounds_done=0).next_scales == (0.5, 8)


@pytest.mark.parametrize("factor, rounds, message", [
    (1, 2, "bracket_factor=1 is not valid; it must be a finite number > 1"),
    (0.5, 2, "bracket_factor=0.5 is not valid"),
    (True, 2, "bracket_factor=True is not valid"),
    (4, -1, "bracket_rounds=-1 is not valid; it must be an integer >= 0"),
    (4, 1.5, "bracket_rounds=1.5 is not valid"),
])
def test_bad_settings_get_one_line(factor, rounds, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        bracket_scales([1, 4], table(optimum=1)[0], bracket_factor=factor, bracket_rounds=rounds)

"""Coverage and density (Naeem et al. 2020) on point sets worked out by hand, on identical
sets, and against the paper's expectations for samples of one distribution."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ali_opt.metrics.sample_quality import coverage_density

LINE = np.arange(7.0)[:, None]
"""Real points 0, 1, ..., 6 on a line. With k = 2 the radii are 2 at the ends (neighbours at 1
and 2) and 1 inside, so the open balls are (-2, 2), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6), (4, 8)."""


def test_points_on_a_line_by_hand():
    # 0.5 lies in the balls of 0 and 1; 10 in none; 5.5 in those of 5 and 6: 4 memberships over
    # k M = 6, and the balls of 0, 1, 5 and 6 reached: 4 of 7.
    coverage, density = coverage_density(LINE, np.array([[0.5], [10.0], [5.5]]), k=2)
    assert coverage == pytest.approx(4 / 7) and density == pytest.approx(4 / 6)


def test_the_balls_are_open():
    # 2 lies on the boundary of the balls of 0, 1 and 3 and in the ball of 2 only.
    assert coverage_density(LINE, np.array([[2.0]]), k=2) == pytest.approx((1 / 7, 1 / 2))


def test_fake_samples_crowded_where_real_ones_are_give_a_density_above_one():
    square = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # k = 1: every radius is 1
    coverage, density = coverage_density(square, np.array([[0.5, 0.5], [5.0, 5.0]]), k=1)
    assert coverage == 1.0 and density == pytest.approx(4 / 2)  # the centre lies in all 4 balls, (5, 5) in none


def test_identical_sets_give_coverage_one_and_density_one():
    real = torch.randn(60, 3, generator=torch.Generator().manual_seed(0))
    assert coverage_density(real, real.clone(), k=5) == pytest.approx((1.0, 1.0))


def test_samples_of_the_real_distribution_meet_the_papers_expectations():
    """Lemma 1: E[density] = 1; Lemma 2: E[coverage] = 1 - prod_{i<=k} (N - i) / (N + M - i)
    (0.971 at N = M = 100, k = 5). Means over 40 draws of two 2-d Gaussian samples."""
    rng = np.random.default_rng(11)
    draws = np.array([coverage_density(rng.normal(size=(100, 2)), rng.normal(size=(100, 2))) for _ in range(40)])
    expected = 1 - math.prod((100 - i) / (200 - i) for i in range(1, 6))
    assert draws[:, 0].mean() == pytest.approx(expected, abs=0.01)
    assert draws[:, 1].mean() == pytest.approx(1.0, abs=0.04)
    shifted = coverage_density(rng.normal(size=(100, 2)), rng.normal(3.0, 1.0, size=(100, 2)))
    assert shifted[0] < 0.3 and shifted[1] < 0.3  # a distribution three sds away reaches few balls


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="same dimension"):
        coverage_density(np.zeros((10, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="more than 5 points"):
        coverage_density(np.zeros((5, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="at least one fake point"):
        coverage_density(np.zeros((10, 2)), np.zeros((0, 2)))

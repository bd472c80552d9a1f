r"""The first three iterates of every optimizer on :math:`\min_x\max_y xy` from (x, y) = (1, 2), by hand.

Player ``x`` descends :math:`\partial_x(xy) = y`, player ``y`` descends :math:`\partial_y(-xy) = -x`;
``y`` moves first in alternating schemes. Step size :math:`\eta = 0.1`. For the Adam rules
:math:`\beta_1 = \beta_2 = 1/2` and a negligible :math:`\epsilon`; with the raw moments
:math:`m_t = m_{t-1}/2 + g_t/2`, :math:`v_t = v_{t-1}/2 + g_t^2/2` and :math:`c_t = 1 - 2^{-t}`, the
bias-corrected step is :math:`-\eta\,(m_t/c_t)/\sqrt{v_t/c_t} = -\eta\, m_t/\sqrt{c_t v_t}`, and
a first step is :math:`-\eta\,\mathrm{sign}(g)`. Moments below are written (for x, for y).
"""
from __future__ import annotations

from math import sqrt

import numpy as np
import pytest
import torch

from ali_opt.game import Game, GameOutput
from optimizers import OPTIMIZERS
from tests.helpers.toy_games import CountingSample, ScalarGame, no_batch, optimizer_for

ETA = 0.1
ADAM = {"betas": (0.5, 0.5), "eps": 1e-12}


def hand_gda():
    # (x, y) <- (x - .1 y, y + .1 x)
    return [(1 - 0.2, 2 + 0.1), (0.8 - 0.21, 2.1 + 0.08), (0.59 - 0.218, 2.18 + 0.059)]


def hand_adam():
    # step 1 at (1, 2): g = (2, -1); m = (1, -.5), v = (2, .5)
    x1, y1 = 0.9, 2.1
    # step 2 at (x1, y1): g = (2.1, -.9); m = (1.55, -.7), v = (3.205, .655), c = .75
    x2 = x1 - 0.1 * 1.55 / sqrt(0.75 * 3.205)
    y2 = y1 + 0.1 * 0.7 / sqrt(0.75 * 0.655)
    # step 3 at (x2, y2): g = (y2, -x2); m = (.775 + y2/2, -.35 - x2/2), v = (1.6025 + y2^2/2, .3275 + x2^2/2), c = .875
    x3 = x2 - 0.1 * (0.775 + y2 / 2) / sqrt(0.875 * (1.6025 + y2**2 / 2))
    y3 = y2 + 0.1 * (0.35 + x2 / 2) / sqrt(0.875 * (0.3275 + x2**2 / 2))
    return [(x1, y1), (x2, y2), (x3, y3)]


def hand_alt_gda():
    # y <- y + .1 x, then x <- x - .1 y with the new y
    return [(1 - 0.21, 2.1), (0.79 - 0.2179, 2.1 + 0.079), (0.5721 - 0.223621, 2.179 + 0.05721)]


def hand_alt_adam():
    # step 1: y at (1, 2): g_y = -1, so y1 = 2.1 (m_y = -.5, v_y = .5); x at (1, 2.1): g_x = 2.1, so x1 = .9
    # (m_x = 1.05, v_x = 2.205)
    x1, y1 = 0.9, 2.1
    # step 2: y at (.9, 2.1): g_y = -.9, m_y = -.7, v_y = .655; x at (.9, y2): g_x = y2
    y2 = y1 + 0.1 * 0.7 / sqrt(0.75 * 0.655)
    x2 = x1 - 0.1 * (0.525 + y2 / 2) / sqrt(0.75 * (1.1025 + y2**2 / 2))
    # step 3: y at (x2, y2): g_y = -x2; x at (x2, y3): g_x = y3, m_x = .2625 + y2/4 + y3/2,
    # v_x = .55125 + y2^2/4 + y3^2/2
    y3 = y2 + 0.1 * (0.35 + x2 / 2) / sqrt(0.875 * (0.3275 + x2**2 / 2))
    x3 = x2 - 0.1 * (0.2625 + y2 / 4 + y3 / 2) / sqrt(0.875 * (0.55125 + y2**2 / 4 + y3**2 / 2))
    return [(x1, y1), (x2, y2), (x3, y3)]


def hand_extragradient():
    # extrapolate (x - .1 y, y + .1 x), then (x, y) <- (x - .1 y_half, y + .1 x_half); in complex
    # form z <- (1 - .01 + .1i) z
    # step 1: half (.8, 2.1); step 2 from (.79, 2.08): half (.582, 2.159); step 3 from (.5741, 2.1382):
    # half (.36028, 2.19561)
    return [(1 - 0.21, 2 + 0.08), (0.79 - 0.2159, 2.08 + 0.0582), (0.5741 - 0.219561, 2.1382 + 0.036028)]


def hand_extra_adam():
    # Adam's state advances at both evaluations of a step: t = 1, 2 in step 1, t = 3, 4 in step 2 ...
    # step 1: at (1, 2), t=1: half (.9, 2.1), m = (1, -.5), v = (2, .5);
    #         at (.9, 2.1), t=2: g = (2.1, -.9), m = (1.55, -.7), v = (3.205, .655), from (1, 2)
    x1 = 1 - 0.1 * 1.55 / sqrt(0.75 * 3.205)
    y1 = 2 + 0.1 * 0.7 / sqrt(0.75 * 0.655)
    # step 2: at (x1, y1), t=3
    mx3, vx3 = 0.775 + y1 / 2, 1.6025 + y1**2 / 2
    my3, vy3 = -0.35 - x1 / 2, 0.3275 + x1**2 / 2
    xh, yh = x1 - 0.1 * mx3 / sqrt(0.875 * vx3), y1 - 0.1 * my3 / sqrt(0.875 * vy3)
    #         at (xh, yh), t=4: g = (yh, -xh)
    mx4, vx4 = mx3 / 2 + yh / 2, vx3 / 2 + yh**2 / 2
    my4, vy4 = my3 / 2 - xh / 2, vy3 / 2 + xh**2 / 2
    x2, y2 = x1 - 0.1 * mx4 / sqrt(0.9375 * vx4), y1 - 0.1 * my4 / sqrt(0.9375 * vy4)
    # step 3: at (x2, y2), t=5, then at the half point, t=6
    mx5, vx5 = mx4 / 2 + y2 / 2, vx4 / 2 + y2**2 / 2
    my5, vy5 = my4 / 2 - x2 / 2, vy4 / 2 + x2**2 / 2
    xh, yh = x2 - 0.1 * mx5 / sqrt(0.96875 * vx5), y2 - 0.1 * my5 / sqrt(0.96875 * vy5)
    mx6, vx6 = mx5 / 2 + yh / 2, vx5 / 2 + yh**2 / 2
    my6, vy6 = my5 / 2 - xh / 2, vy5 / 2 + xh**2 / 2
    x3, y3 = x2 - 0.1 * mx6 / sqrt(0.984375 * vx6), y2 - 0.1 * my6 / sqrt(0.984375 * vy6)
    return [(x1, y1), (x2, y2), (x3, y3)]


def hand_past_extragradient():
    # step 1: no past step, so a plain step: u0 = (-.2, .1)
    # step 2: extrapolate to (.8 - .2, 2.1 + .1) = (.6, 2.2): u1 = (-.22, .06)
    # step 3: extrapolate to (.58 - .22, 2.16 + .06) = (.36, 2.22): u2 = (-.222, .036)
    return [(0.8, 2.1), (0.8 - 0.22, 2.1 + 0.06), (0.58 - 0.222, 2.16 + 0.036)]


def hand_past_extra_adam():
    # Adam sees the stored gradient at the extrapolation and the new one at the update, so its
    # counter is t = 1 in step 1 (no stored gradient: no extrapolation), t = 2, 3 in step 2, t = 4, 5 in step 3
    # step 1: at (1, 2), t=1: g = (2, -1); m = (1, -.5), v = (2, .5); u = (-.1, .1)
    x1, y1 = 0.9, 2.1
    # step 2: extrapolate with the stored g = (2, -1), t=2: m = (1.5, -.75), v = (3, .75), c = .75:
    #   u = (-.1 * 1.5 / sqrt(2.25), .1 * .75 / sqrt(.5625)) = (-.1, .1), to (.8, 2.2)
    #   at (.8, 2.2), t=3: g = (2.2, -.8); m = (1.85, -.775), v = (3.92, .695), c = .875, from (x1, y1)
    x2 = x1 - 0.1 * 1.85 / sqrt(0.875 * 3.92)
    y2 = y1 + 0.1 * 0.775 / sqrt(0.875 * 0.695)
    # step 3: extrapolate with the stored g = (2.2, -.8), t=4: m = (2.025, -.7875), v = (4.38, .6675), c = .9375
    xe = x2 - 0.1 * 2.025 / sqrt(0.9375 * 4.38)
    ye = y2 + 0.1 * 0.7875 / sqrt(0.9375 * 0.6675)
    #   at (xe, ye), t=5: g = (ye, -xe); m = (1.0125 + ye/2, -.39375 - xe/2), v = (2.19 + ye^2/2, .33375 + xe^2/2)
    x3 = x2 - 0.1 * (1.0125 + ye / 2) / sqrt(0.96875 * (2.19 + ye**2 / 2))
    y3 = y2 + 0.1 * (0.39375 + xe / 2) / sqrt(0.96875 * (0.33375 + xe**2 / 2))
    return [(x1, y1), (x2, y2), (x3, y3)]


def hand_optimistic():
    # (x, y) <- (x, y) + 2 u_t - u_{t-1} with u_t = (-.1 y, .1 x) and u_{-1} = 0 (first_step="double"):
    # step 1 at (1, 2): u0 = (-.2, .1), to (.6, 2.2); step 2 at (.6, 2.2): u1 = (-.22, .06), to (.6 - .44 + .2, 2.2 + .12 - .1)
    # = (.36, 2.22); step 3 at (.36, 2.22): u2 = (-.222, .036), to (.36 - .444 + .22, 2.22 + .072 - .06)
    return [(0.6, 2.2), (0.36, 2.22), (0.136, 2.232)]


def hand_optimistic_single_first_step():
    # as above with u_{-1} = u_0 (first_step="single"): step 1 is plain, u0 = (-.2, .1)
    # step 2 at (.8, 2.1): u1 = (-.21, .08); step 3 at (.58, 2.16): u2 = (-.216, .058)
    # (on a bilinear game these are the past-extragradient iterates: both follow the same recursion)
    return [(0.8, 2.1), (0.8 - 0.42 + 0.2, 2.1 + 0.16 - 0.1), (0.58 - 0.432 + 0.21, 2.16 + 0.116 - 0.08)]


def hand_optimistic_adam():
    # step 1: at (1, 2), t=1: u0 = (-.1, .1), doubled (u_{-1} = 0)
    x1, y1 = 0.8, 2.2
    # step 2: at (x1, y1), t=2: g = (2.2, -.8); m = (1.6, -.65), v = (3.42, .57); (x1, y1) + 2 u1 - u0
    ux1, uy1 = -0.1 * 1.6 / sqrt(0.75 * 3.42), 0.1 * 0.65 / sqrt(0.75 * 0.57)
    x2, y2 = x1 + 2 * ux1 + 0.1, y1 + 2 * uy1 - 0.1
    # step 3: at (x2, y2), t=3: g = (y2, -x2); m = (.8 + y2/2, -.325 - x2/2), v = (1.71 + y2^2/2, .285 + x2^2/2)
    ux2 = -0.1 * (0.8 + y2 / 2) / sqrt(0.875 * (1.71 + y2**2 / 2))
    uy2 = 0.1 * (0.325 + x2 / 2) / sqrt(0.875 * (0.285 + x2**2 / 2))
    return [(x1, y1), (x2, y2), (x2 + 2 * ux2 - ux1, y2 + 2 * uy2 - uy1)]


def hand_optimistic_adam_single_first_step():
    # step 1: at (1, 2), t=1: u0 = (-.1, .1)
    x1, y1 = 0.9, 2.1
    # step 2: at (x1, y1), t=2: g = (2.1, -.9); m = (1.55, -.7), v = (3.205, .655); (x1, y1) + 2 u1 - u0
    ux1, uy1 = -0.1 * 1.55 / sqrt(0.75 * 3.205), 0.1 * 0.7 / sqrt(0.75 * 0.655)
    x2, y2 = x1 + 2 * ux1 + 0.1, y1 + 2 * uy1 - 0.1
    # step 3: at (x2, y2), t=3: g = (y2, -x2); m = (.775 + y2/2, -.35 - x2/2), v = (1.6025 + y2^2/2, .3275 + x2^2/2)
    ux2 = -0.1 * (0.775 + y2 / 2) / sqrt(0.875 * (1.6025 + y2**2 / 2))
    uy2 = 0.1 * (0.35 + x2 / 2) / sqrt(0.875 * (0.3275 + x2**2 / 2))
    return [(x1, y1), (x2, y2), (x2 + 2 * ux2 - ux1, y2 + 2 * uy2 - uy1)]


def hand_consensus():
    # gamma = .5: the adjusted field is (y + .5 x, -x + .5 y), so (x, y) <- (.95 x - .1 y, .95 y + .1 x)
    return [(0.95 - 0.2, 1.9 + 0.1), (0.7125 - 0.2, 1.9 + 0.075), (0.486875 - 0.1975, 1.87625 + 0.05125)]


def hand_consensus_adam():
    # gamma = .5, Adam on g = (y + .5 x, -x + .5 y)
    # step 1 at (1, 2): g = (2.5, 0): x moves by -.1 sign(2.5), y by 0 / (0 + eps) = 0; m = (1.25, 0), v = (3.125, 0)
    x1, y1 = 0.9, 2.0
    # step 2 at (.9, 2): g = (2.45, .1); m = (1.85, .05), v = (4.56375, .005), c = .75
    x2 = x1 - 0.1 * 1.85 / sqrt(0.75 * 4.56375)
    y2 = y1 - 0.1 * 0.05 / sqrt(0.75 * 0.005)
    # step 3 at (x2, y2): g = (y2 + x2/2, -x2 + y2/2); m = (.925 + gx/2, .025 + gy/2), v = (2.281875 + gx^2/2, .0025 + gy^2/2)
    gx, gy = y2 + x2 / 2, -x2 + y2 / 2
    x3 = x2 - 0.1 * (0.925 + gx / 2) / sqrt(0.875 * (2.281875 + gx**2 / 2))
    y3 = y2 - 0.1 * (0.025 + gy / 2) / sqrt(0.875 * (0.0025 + gy**2 / 2))
    return [(x1, y1), (x2, y2), (x3, y3)]


def hand_sga():
    # field xi = (y, -x), Jacobian J = [[0, 1], [-1, 0]] on (x, y): A = J, A^T xi = (x, y) and grad H = J^T xi = (x, y);
    # <xi, grad H> = 0, so the aligned sign is sign(0 + .1) = +1 and lambda = 1:
    # (x, y) <- (x - .1 (y + x), y - .1 (-x + y)) = (.9 x - .1 y, .9 y + .1 x)
    return [(0.9 - 0.2, 1.8 + 0.1), (0.63 - 0.19, 1.71 + 0.07), (0.396 - 0.178, 1.602 + 0.044)]


def hand_sga_adam():
    # lambda = +1 as for sga: Adam on g = (y + x, y - x)
    # step 1 at (1, 2): g = (3, 1): (.9, 1.9); m = (1.5, .5), v = (4.5, .5)
    x1, y1 = 0.9, 1.9
    # step 2 at (.9, 1.9): g = (2.8, 1); m = (2.15, .75), v = (6.17, .75), c = .75
    x2 = x1 - 0.1 * 2.15 / sqrt(0.75 * 6.17)
    y2 = y1 - 0.1 * 0.75 / sqrt(0.75 * 0.75)
    # step 3 at (x2, y2): g = (y2 + x2, y2 - x2); m = (1.075 + gx/2, .375 + gy/2), v = (3.085 + gx^2/2, .375 + gy^2/2)
    gx, gy = y2 + x2, y2 - x2
    x3 = x2 - 0.1 * (1.075 + gx / 2) / sqrt(0.875 * (3.085 + gx**2 / 2))
    y3 = y2 - 0.1 * (0.375 + gy / 2) / sqrt(0.875 * (0.375 + gy**2 / 2))
    return [(x1, y1), (x2, y2), (x3, y3)]


def hand_cgd():
    # f = xy for x, g = -xy for y: grad_x f = y, grad_y g = -x, D_xy f = 1, D_yx g = -1, so
    # dx = -.1 (y + .1 x) / 1.01 and dy = -.1 (-x + .1 y) / 1.01: z = x + iy <- z (1 + .1i) / 1.01,
    # the gda iterates divided by 1.01^t
    return [(0.8 / 1.01, 2.1 / 1.01), (0.59 / 1.0201, 2.18 / 1.0201), (0.372 / 1.030301, 2.239 / 1.030301)]


def hand_acgd():
    # ACGD (beta = 1/2, negligible eps): step sizes p = .1 sqrt(c_t / v_t) with v_t = v_{t-1}/2 + g^2/2 and
    # c_t = 1 - 2^-t; on xy a step with step sizes (p_x, p_y) is (x, y) <- (x - p_x y, y + p_y x) / (1 + p_x p_y)
    def step(x, y, p_x, p_y):
        return (x - p_x * y) / (1 + p_x * p_y), (y + p_y * x) / (1 + p_x * p_y)

    # step 1 at (1, 2): g = (2, -1), v = (2, .5), c = .5: p = (.1 sqrt(.25), .1) = (.05, .1)
    x1, y1 = (1 - 0.05 * 2) / 1.005, (2 + 0.1 * 1) / 1.005
    # step 2: g = (y1, -x1), v = (1 + y1^2/2, .25 + x1^2/2), c = .75
    v_x, v_y = 1 + y1**2 / 2, 0.25 + x1**2 / 2
    x2, y2 = step(x1, y1, 0.1 * sqrt(0.75 / v_x), 0.1 * sqrt(0.75 / v_y))
    # step 3: g = (y2, -x2), c = .875
    v_x, v_y = v_x / 2 + y2**2 / 2, v_y / 2 + x2**2 / 2
    x3, y3 = step(x2, y2, 0.1 * sqrt(0.875 / v_x), 0.1 * sqrt(0.875 / v_y))
    return [(x1, y1), (x2, y2), (x3, y3)]


HAND_ITERATES = {
    "gda": hand_gda,
    "adam": hand_adam,
    "alt_gda": hand_alt_gda,
    "alt_adam": hand_alt_adam,
    "extragradient": hand_extragradient,
    "extra_adam": hand_extra_adam,
    "past_extragradient": hand_past_extragradient,
    "past_extra_adam": hand_past_extra_adam,
    "optimistic": hand_optimistic,
    "optimistic_adam": hand_optimistic_adam,
    "consensus": hand_consensus,
    "consensus_adam": hand_consensus_adam,
    "sga": hand_sga,
    "sga_adam": hand_sga_adam,
    "cgd": hand_cgd,
    "acgd": hand_acgd,
}
HAND_CONFIG = {"consensus": {"gamma": 0.5}, "consensus_adam": {"gamma": 0.5},
               "acgd": {"acgd_beta": 0.5, "acgd_eps": 1e-12}}
"""Options the hand derivations assume, beyond the defaults."""


def assert_first_iterates(name: str, expected: list[tuple[float, float]], **config) -> None:
    game = ScalarGame(x0=1.0, y0=2.0)
    optimizer = optimizer_for(game, name, lr=ETA, **ADAM, **config)
    found = []
    for _ in expected:
        optimizer.step(no_batch)
        found.append(game.point())
    np.testing.assert_allclose(found, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", HAND_ITERATES)
def test_first_three_iterates_match_hand_derivation(name):
    assert_first_iterates(name, HAND_ITERATES[name](), **HAND_CONFIG.get(name, {}))


def test_every_optimizer_has_a_hand_derivation():
    assert set(HAND_ITERATES) == set(OPTIMIZERS)


@pytest.mark.parametrize("name, hand", [("optimistic", hand_optimistic_single_first_step),
                                        ("optimistic_adam", hand_optimistic_adam_single_first_step)])
def test_optimistic_with_a_single_first_step(name, hand):
    assert_first_iterates(name, hand(), first_step="single")


def test_past_extra_adam_counts_two_adam_steps_per_step_after_the_first():
    game = ScalarGame(x0=1.0, y0=2.0)
    optimizer = optimizer_for(game, "past_extra_adam", lr=ETA, **ADAM)
    for _ in range(4):
        optimizer.step(no_batch)
    assert [optimizer.rule_states[player]["step"] for player in game.players] == [7, 7]


def test_past_extra_adam_is_not_optimistic_adam():
    """Where each evaluates the game over 50 steps on xy. Extrapolating with the previous *step*
    instead of the previous gradient through Adam made past_extra_adam's extrapolated points the
    iterates of optimistic_adam with a first step of 2 u_0, to 1e-15."""
    evaluated = {}
    for name, options in (("past_extra_adam", {}), ("optimistic_adam", {"first_step": "double"})):
        game = ScalarGame(x0=1.0, y0=2.0)
        optimizer = optimizer_for(game, name, lr=ETA, **ADAM, **options)
        for _ in range(50):
            optimizer.step(no_batch)
        evaluated[name] = np.array(game.seen_points)
    assert np.abs(evaluated["past_extra_adam"] - evaluated["optimistic_adam"]).max() > 0.05


def test_discriminator_side_steps_twice_with_d_steps_2():
    # step 1: y <- 2 + .1, y <- 2.1 + .1 (x still 1), x <- 1 - .1 * 2.2; steps 2 and 3 likewise
    expected = [(1 - 0.22, 2.2), (0.78 - 0.2356, 2.2 + 2 * 0.078), (0.5444 - 0.246488, 2.356 + 2 * 0.05444)]
    assert_first_iterates("alt_gda", expected, d_steps=2)


@pytest.mark.parametrize("name, expected", [
    # k = 2, alpha = .5 over gda: (.8, 2.1); gda gives (.59, 2.18), pulled halfway back to (1, 2); gda once more
    ("gda", [(0.8, 2.1), (0.795, 2.09), (0.795 - 0.209, 2.09 + 0.0795)]),
    # over extragradient, z <- (.99 + .1i) z: (.79, 2.08); (.5741, 2.1382) pulled halfway to (1, 2); one more step
    ("extragradient", [(0.79, 2.08), (0.78705, 2.0691), (0.7791795 - 0.20691, 2.048409 + 0.078705)]),
])
def test_lookahead_iterates(name, expected):
    assert_first_iterates(name, expected, lookahead_k=2, lookahead_alpha=0.5)


def test_lookahead_leaves_the_inner_adam_state_alone_at_a_synchronisation():
    """As the reference code (Chavdarova/LAGAN-Lookahead_Minimax): the pull moves the parameters only; Adam's
    moments and counter after k = 2 steps are those of 2 plain Adam steps from the same start."""
    wrapped_game, plain_game = ScalarGame(x0=1.0, y0=2.0), ScalarGame(x0=1.0, y0=2.0)
    wrapped = optimizer_for(wrapped_game, "adam", lr=ETA, lookahead_k=2, lookahead_alpha=0.5)
    plain = optimizer_for(plain_game, "adam", lr=ETA)
    for _ in range(2):
        wrapped.step(no_batch)
        plain.step(no_batch)
    assert wrapped_game.point() != pytest.approx(plain_game.point())  # the synchronisation moved the iterate
    for player in plain.players:
        found, expected = wrapped.inner.rule_states[player], plain.rule_states[player]
        assert found["step"] == expected["step"] == 2
        for key in ("exp_avg", "exp_avg_sq"):
            assert all(torch.equal(a, b) for a, b in zip(found[key], expected[key])), key


def test_sga_alignment_rule_picks_the_sign_of_lambda():
    # f = xy - .25 (x^2 - y^2) at (1, 2): xi = (y - .5 x, -x - .5 y) = (1.5, -2); J = [[-.5, 1], [-1, -.5]],
    # grad H = J^T xi = (1.25 x, 1.25 y) = (1.25, 2.5), A^T xi = (x + .5 y, y - .5 x) = (2, 1.5);
    # <xi, grad H> <A^T xi, grad H> / 2 = (-3.125)(6.25) / 2 < -.1: lambda = -1, step -.1 (xi - A^T xi) = (.05, .35)
    game = ScalarGame(x0=1.0, y0=2.0, mu=-0.5)
    optimizer_for(game, "sga", lr=ETA).step(no_batch)
    assert game.point() == pytest.approx((1.05, 2.35), abs=1e-12)
    # with the sign fixed: step -.1 (xi + A^T xi) = (-.35, .05)
    game = ScalarGame(x0=1.0, y0=2.0, mu=-0.5)
    optimizer_for(game, "sga", lr=ETA, sga_align=False).step(no_batch)
    assert game.point() == pytest.approx((0.65, 2.05), abs=1e-12)


@pytest.mark.parametrize("kind, beta, expected", [
    # the mean of the gda iterates (.8, 2.1), (.59, 2.18), (.372, 2.239)
    ("uniform", 0.999, ((0.8 + 0.59 + 0.372) / 3, (2.1 + 2.18 + 2.239) / 3)),
    # from (1, 2) halving towards each iterate: (.9, 2.05), (.745, 2.115), (.5585, 2.177)
    ("ema", 0.5, (0.5585, 2.177)),
])
def test_averaged_gda_iterates(kind, beta, expected):
    game = ScalarGame(x0=1.0, y0=2.0)
    optimizer = optimizer_for(game, "gda", lr=ETA, average=kind, ema_beta=beta)
    for _ in range(3):
        optimizer.step(no_batch)
    with optimizer.averaged_parameters():
        assert game.point() == pytest.approx(expected, abs=1e-6)
    assert game.point() == pytest.approx(hand_gda()[-1], abs=1e-6)


@pytest.mark.parametrize("name, config, batches_per_step, evals_per_step", [
    ("gda", {}, [[0]], 1),
    ("adam", {}, [[0]], 1),
    ("alt_gda", {"resample": True}, [[0, 1]], 2),
    ("alt_gda", {"resample": False}, [[0, 0]], 2),
    ("alt_adam", {"resample": True, "d_steps": 2}, [[0, 1, 2]], 3),
    ("alt_gda", {"resample": False, "d_steps": 3}, [[0, 0, 0, 0]], 4),
    ("extragradient", {"resample": True}, [[0, 1]], 2),
    ("extra_adam", {"resample": False}, [[0, 0]], 2),
    ("past_extragradient", {}, [[0]], 1),
    ("past_extra_adam", {}, [[0]], 1),
    ("optimistic", {}, [[0]], 1),
    ("optimistic_adam", {}, [[0]], 1),
    ("consensus", {}, [[0]], 2),  # the field, and J^T xi
    ("sga_adam", {}, [[0]], 4),  # the field, J^T xi, and J xi one player at a time
    # the field, the right-hand side, one CG iteration (exact in 1-D) of 2, the second player; from the
    # second step on, 2 more for the residual of the warm start
    ("cgd", {}, [[0]], [5, 7, 7]),
    ("acgd", {}, [[0]], [5, 7, 7]),
    ("gda", {"lookahead_k": 2}, [[0]], 1),
])
def test_batches_drawn_and_gradient_evaluations_per_step(name, config, batches_per_step, evals_per_step):
    """Which batch each evaluation of a step uses (numbered from the step's first draw)."""
    evals_per_step = evals_per_step if isinstance(evals_per_step, list) else [evals_per_step] * 3
    game = ScalarGame()
    optimizer = optimizer_for(game, name, lr=ETA, **config)
    sample = CountingSample()
    for step in range(3):
        drawn_before = sample.count
        game.seen_batches.clear()
        report = optimizer.step(sample)
        assert [batch - drawn_before for batch in game.seen_batches] == batches_per_step[0]
        assert sample.count - drawn_before == max(batches_per_step[0]) + 1
        assert report.grad_evals == optimizer.grad_evals == sum(evals_per_step[: step + 1])
        assert report.member_grad_evals is None and optimizer.member_grad_evals is None


def test_reports_the_pre_update_point():
    game = ScalarGame(x0=1.0, y0=2.0)
    report = optimizer_for(game, "extragradient", lr=ETA).step(no_batch)
    assert report.losses["x"].item() == pytest.approx(2.0)
    assert report.losses["y"].item() == pytest.approx(-2.0)
    # gradients at (1, 2): d/dx = y = 2, d/dy = -x = -1
    assert report.grad_norms["x"].item() == pytest.approx(2.0)
    assert report.grad_norms["y"].item() == pytest.approx(1.0)
    assert torch.equal(report.parameter_grad_norms["x"], torch.tensor([2.0], dtype=torch.float64))


class ZeroLossGame(Game):
    """Two players with one parameter each and a loss of zero: only weight decay moves them."""

    players = ("a", "b")

    def __init__(self):
        super().__init__()
        self.a, self.b = (torch.nn.Parameter(torch.tensor(1.0, dtype=torch.float64)) for _ in range(2))

    def player_of(self, parameter_name: str) -> str:
        return parameter_name

    def forward(self, batch=None) -> GameOutput:
        zero = 0 * (self.a + self.b)
        return GameOutput(losses={"a": zero, "b": zero})


def test_extragradient_takes_weight_decay_at_the_extrapolated_point():
    # the loss is lambda/2 theta^2: extrapolate to theta - .5 * .4 theta = .8 theta, then
    # theta <- theta - .5 * .4 * .8 theta = .84 theta (the decay at the starting point would give .8)
    game = ZeroLossGame()
    optimizer_for(game, "extragradient", lr=0.5, weight_decay=0.4).step(no_batch)
    assert (game.a.item(), game.b.item()) == pytest.approx((0.84, 0.84), abs=1e-15)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_weight_decay_is_the_l2_term_of_the_loss(name):
    """Weight decay lambda on xy moves every optimizer as the game xy + lambda/2 (x^2 - y^2) without it
    (``ScalarGame(mu=lambda)``: each player's loss gains lambda/2 times its own parameter squared)."""
    points = []
    for game, weight_decay in ((ScalarGame(mu=0.0), 0.3), (ScalarGame(mu=0.3), 0.0)):
        optimizer = optimizer_for(game, name, lr=ETA, **ADAM, weight_decay=weight_decay)
        for _ in range(3):
            optimizer.step(no_batch)
        points.append(game.point())
    np.testing.assert_allclose(points[0], points[1], rtol=0, atol=1e-12)

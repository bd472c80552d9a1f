"""Optimistic gradient descent-ascent (``optimistic``) and Optimistic Adam (``optimistic_adam``)."""
from __future__ import annotations

from functools import partial

import torch

from ali_opt.errors import check_choice

from .base import GameOptimizer, Sample, StepReport
from .options import Option

FIRST_STEPS = ("double", "single")
"""How the first step, which has no previous direction, is taken: see :class:`Optimistic`."""


class Optimistic(GameOptimizer):
    r"""Step twice along the new direction and take back the previous one.

    .. math::
        u_t = u\big(\nabla\ell(\theta_t)\big), \qquad \theta_{t+1} = \theta_t + 2u_t - u_{t-1}

    With SGD this is OGDA, :math:`\theta_{t+1} = \theta_t - 2\eta g_t + \eta g_{t-1}`;
    with Adam it is Optimistic Adam (Daskalakis, Ilyas, Syrgkanis & Zeng, 2018, "Training
    GANs with Optimism", Algorithm 1). On :math:`\min_x\max_y xy` with SGD the asymptotic
    contraction per step is the largest root modulus of
    :math:`\lambda^2 - (1+2i\eta)\lambda + i\eta`. One gradient evaluation per step.

    ``first_step`` says what :math:`u_{-1}` is:

    - ``"double"`` (default): :math:`u_{-1} = 0`, so :math:`\theta_1 = \theta_0 + 2u_0`. This is
      Algorithm 1 of Daskalakis et al. with :math:`m_0 = 0` (the subtracted term
      :math:`\eta\, m_0/(\sqrt{v_0}+\epsilon)` vanishes) and what their reference code
      (``optimAdam``, whose stored moments start at zero) does; the default follows the paper.
    - ``"single"``: :math:`u_{-1} = u_0`, a plain first step :math:`\theta_1 = \theta_0 + u_0`;
      with SGD the iterates are then those of extrapolation from the past on bilinear games.

    Only the first step differs; the rule's state advances once per step either way.
    """

    scheme_state = ("previous_step",)
    first_step = Option("double", partial(check_choice, choices=FIRST_STEPS),
                        'optimistic: "double" (2 u_0, Daskalakis et al.) or "single" (u_0)')

    def __init__(self, game, rules, **options):
        super().__init__(game, rules, **options)
        self.previous_step: dict | None = None

    def step(self, sample: Sample) -> StepReport:
        output, grads = self._evaluate(sample())
        steps = self._directions(grads)
        if self.previous_step is None:
            self._add({p: torch._foreach_mul(s, 2.0) for p, s in steps.items()} if self.first_step == "double" else steps)
        else:
            self._add({p: torch._foreach_sub(torch._foreach_mul(s, 2.0), self.previous_step[p]) for p, s in steps.items()})
        self.previous_step = steps
        return self._report(output, grads)

"""Optimistic gradient descent-ascent (``optimistic``) and Optimistic Adam (``optimistic_adam``)."""
from __future__ import annotations

import torch

from .base import GameOptimizer, Sample, StepReport


class Optimistic(GameOptimizer):
    r"""Step twice along the new direction and take back the previous one.

    .. math::
        u_t = u\big(\nabla\ell(\theta_t)\big), \qquad \theta_{t+1} = \theta_t + 2u_t - u_{t-1}

    With SGD this is OGDA, :math:`\theta_{t+1} = \theta_t - 2\eta g_t + \eta g_{t-1}`;
    with Adam it is Optimistic Adam (Daskalakis, Ilyas, Syrgkanis & Zeng, 2018, "Training
    GANs with Optimism", Algorithm 1). The first step has no previous direction and is a
    plain step (:math:`u_{-1} = u_0`). On :math:`\min_x\max_y xy` with SGD the asymptotic
    contraction per step is the largest root modulus of
    :math:`\lambda^2 - (1+2i\eta)\lambda + i\eta`. One gradient evaluation per step.
    """

    scheme_state = ("previous_step",)

    def __init__(self, game, rules):
        super().__init__(game, rules)
        self.previous_step: dict | None = None

    def step(self, sample: Sample) -> StepReport:
        output, grads = self._evaluate(sample())
        steps = self._directions(grads)
        if self.previous_step is None:
            self._add(steps)
        else:
            self._add({p: torch._foreach_sub(torch._foreach_mul(s, 2.0), self.previous_step[p]) for p, s in steps.items()})
        self.previous_step = steps
        return self._report(output, grads)

"""Simultaneous gradient descent-ascent (``gda``) and simultaneous Adam (``adam``)."""
from __future__ import annotations

from .base import GameOptimizer, Sample, StepReport


class Simultaneous(GameOptimizer):
    r"""Every player steps from the gradient at the same point.

    .. math:: \theta^i_{t+1} = \theta^i_t + u^i\big(\nabla_{\theta^i} \ell^i(\theta_t)\big)

    where :math:`u^i` is player :math:`i`'s rule (SGD: :math:`-\eta_i g`; Adam). With SGD on
    the bilinear game this diverges: on :math:`\min_x\max_y xy` the distance to the
    equilibrium grows by :math:`\sqrt{1+\eta^2}` per step. One gradient evaluation per step.
    """

    def step(self, sample: Sample) -> StepReport:
        output, grads = self._evaluate(sample())
        self._add(self._directions(grads))
        return self._report(output, grads)

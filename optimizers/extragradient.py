"""Extragradient (``extragradient``) and Extra-Adam (``extra_adam``)."""
from __future__ import annotations

from .base import RESAMPLE, GameOptimizer, Sample, StepReport


class Extragradient(GameOptimizer):
    r"""Extrapolate every player, then update the original point with the gradient there.

    .. math::
        \theta_{t+1/2} = \theta_t + u\big(\nabla\ell(\theta_t)\big), \qquad
        \theta_{t+1} = \theta_t + u\big(\nabla\ell(\theta_{t+1/2})\big)

    (Korpelevich, 1976; stochastic and Adam forms as in Gidel et al., 2019, "A Variational
    Inequality Perspective on GANs", Algorithms 2-4: each player's rule, e.g. Adam's moments,
    advances at both half-steps). With SGD on :math:`\min_x\max_y xy` the distance to the
    equilibrium shrinks by :math:`\sqrt{1-\eta^2+\eta^4}` per step. Two gradient
    evaluations per step; ``resample=True`` draws a fresh batch for the second
    (stochastic extragradient with resampling), ``False`` reuses the first batch (with all of
    its randomness: the same data, noise and dropout masks). BatchNorm running statistics
    move at the first evaluation only: the extrapolated point is not an iterate.
    """

    resample = RESAMPLE

    def step(self, sample: Sample) -> StepReport:
        batch = sample()
        output, grads = self._evaluate(batch)
        start = self.copy_parameters()
        self._add(self._directions(grads))
        _, extrapolated_grads = self._evaluate(sample() if self.resample else batch, visited=False)
        self.restore_parameters(start)
        self._add(self._directions(extrapolated_grads))
        return self._report(output, grads)

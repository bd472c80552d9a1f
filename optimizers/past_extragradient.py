"""Extrapolation from the past (``past_extragradient``, ``past_extra_adam``)."""
from __future__ import annotations

from .base import GameOptimizer, Sample, StepReport


class PastExtragradient(GameOptimizer):
    r"""Extragradient that extrapolates with the previous step's gradient (Popov, 1980).

    .. math::
        \theta_{t+1/2} = \theta_t + u_{t-1}, \qquad
        u_t = u\big(\nabla\ell(\theta_{t+1/2})\big), \qquad
        \theta_{t+1} = \theta_t + u_t

    with :math:`u_{-1} = 0`, so one gradient evaluation per step (Gidel et al., 2019,
    Algorithm 3, "extrapolation from the past"). The rule's state advances once per step.
    With SGD on :math:`\min_x\max_y xy` the iterates contract at the rate of optimistic
    gradient descent-ascent. The step's report is taken at the extrapolated point, the
    only point this scheme evaluates.
    """

    scheme_state = ("previous_step",)

    def __init__(self, game, rules):
        super().__init__(game, rules)
        self.previous_step: dict | None = None

    def step(self, sample: Sample) -> StepReport:
        start = None
        if self.previous_step is not None:
            start = self._copy_parameters()
            self._add(self.previous_step)
        output, grads = self._evaluate(sample())
        steps = self._directions(grads)
        if start is not None:
            self._restore_parameters(start)
        self._add(steps)
        self.previous_step = steps
        return self._report(output, grads)

"""Extrapolation from the past (``past_extragradient``, ``past_extra_adam``)."""
from __future__ import annotations

from .base import GameOptimizer, Sample, StepReport


class PastExtragradient(GameOptimizer):
    r"""Extragradient that extrapolates with the gradient stored at the previous step.

    .. math::
        \theta_{t+1/2} = \theta_t + u\big(g_{t-1/2}\big), \qquad
        g_{t+1/2} = \nabla\ell(\theta_{t+1/2}), \qquad
        \theta_{t+1} = \theta_t + u\big(g_{t+1/2}\big)

    where :math:`u` is each player's rule, applied twice per step: first to the stored
    gradient of the previous step (the extrapolation), then to the new gradient (the update).
    Both applications advance the rule's state. The first step has no stored gradient and
    does not extrapolate: :math:`\theta_1 = \theta_0 + u(\nabla\ell(\theta_0))`. One
    gradient evaluation per step.

    - With SGD, :math:`u(g) = -\eta g`, this is Popov's (1980) method, Gidel et al. (2019, "A
      Variational Inequality Perspective on GANs") Algorithm 3: the extrapolation reuses the
      previous update's step. On :math:`\min_x\max_y xy` the iterates contract at the rate of
      optimistic gradient descent-ascent.
    - With Adam it is Algorithm 4 of Gidel et al. with extrapolation from the past, as the
      authors' reference code runs it (``ExtraAdam.extrapolation()`` on the gradients left
      from the previous step, then ``step()`` on the new ones): the stored gradient goes
      through Adam at the extrapolation, advancing its moments and bias-correction counter,
      and the new gradient goes through Adam again at the update. After :math:`T` steps the
      counter is :math:`2T-1`. This differs from Optimistic Adam, whose moments see each
      gradient once.
    - With momentum SGD the momentum buffer advances at both applications too, as in the
      reference ``ExtraSGD``.

    Weight decay is in the stored gradient, taken at :math:`\theta_{t-1/2}` where the
    gradient was. The step's report is taken at the extrapolated point, the only point this
    scheme evaluates; BatchNorm running statistics move there for the same reason (an extra
    forward pass at :math:`\theta_t` would change what the method costs).
    """

    scheme_state = ("previous_grads",)

    def __init__(self, game, rules, **options):
        super().__init__(game, rules, **options)
        self.previous_grads: dict | None = None

    def step(self, sample: Sample) -> StepReport:
        start = None
        if self.previous_grads is not None:
            start = self.copy_parameters()
            self._add(self._directions(self.previous_grads))
        output, grads = self._evaluate(sample())
        steps = self._directions(grads)
        if start is not None:
            self.restore_parameters(start)
        self._add(steps)
        self.previous_grads = grads
        return self._report(output, grads)

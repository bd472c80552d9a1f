"""Alternating updates (``alt_gda``, ``alt_adam``): each player moves after seeing the others move."""
from __future__ import annotations

from functools import partial

from ali_opt.errors import check_positive

from .base import RESAMPLE, GameOptimizer, Sample, StepReport
from .options import Option


class Alternating(GameOptimizer):
    r"""Players update in turn, in the game's ``players`` order (discriminator side first).

    The first player takes ``d_steps`` steps, then each other player takes one step from
    its gradient at the point where all earlier players have already moved:

    .. math::
        \theta^1 \leftarrow \theta^1 + u^1(\nabla_{\theta^1}\ell^1(\theta^1,\theta^2))
        \;(\times d\_steps), \qquad
        \theta^2 \leftarrow \theta^2 + u^2(\nabla_{\theta^2}\ell^2(\theta^1_{\rm new},\theta^2)).

    On :math:`\min_x\max_y xy` with SGD the iteration matrix has determinant 1 and spectral
    radius 1 for :math:`\eta < 2`: the iterates cycle, neither converging nor diverging
    (Gidel et al., 2019; Bailey et al., 2020). ``d_steps + players - 1`` gradient
    evaluations per step, each differentiating only the moving player's loss.
    With ``resample=True`` every evaluation after the first draws a fresh batch. BatchNorm
    running statistics move at the first evaluation only (at :math:`\theta_t`); the later ones
    are at intermediate points, which are not iterates.
    """

    d_steps = Option(1, partial(check_positive, integer=True), "alternating: steps of the first (discriminator-side) "
                     "player")
    resample = RESAMPLE

    def step(self, sample: Sample) -> StepReport:
        first, *others = self.players
        batch = sample()
        used_grads = {}
        for turn_index, player in enumerate([first] * self.d_steps + others):
            if turn_index and self.resample:
                batch = sample()
            output, grads = self._evaluate(batch, players=[player], visited=turn_index == 0)
            self._add(self._directions(grads))
            used_grads.setdefault(player, grads[player])
            if turn_index == 0:
                pre_update_output = output
        return self._report(pre_update_output, used_grads)

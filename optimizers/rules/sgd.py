"""Stochastic gradient descent with optional heavy-ball momentum."""
from __future__ import annotations

import torch

from ali_opt.errors import check_fraction

from ..options import Option
from .rule import Rule
from .step_size import STEP_SIZE, descend_


class SGD(Rule):
    r"""SGD step, as ``torch.optim.SGD`` (dampening 0, no Nesterov) defines it.

    .. math::
        b \leftarrow \mu b + g \;(b_0 = g), \qquad
        u = -\eta\, b \quad (u = -\eta g \text{ when } \mu = 0)

    with learning rate :math:`\eta` (``lr``) and momentum :math:`\mu`. ``direction`` returns
    the step :math:`u` to add to the parameters. Weight decay is not a rule's business: it is
    part of the loss, added to :math:`g` where the scheme takes the gradient
    (:class:`optimizers.base.GameOptimizer`). ``lr`` may be a tensor of one step size per
    ensemble member (see :mod:`.step_size`). A bad value raises a :class:`~ali_opt.errors.ConfigError`.
    """

    lr = STEP_SIZE
    momentum = Option(0.0, check_fraction, "SGD rules: heavy-ball momentum, in [0, 1)", per_player=True)

    def init(self, params: list[torch.Tensor]) -> dict:
        return {"momentum_buffer": []} if self.momentum else {}

    @torch.no_grad()  # the step is never differentiated
    def direction(self, grads: list[torch.Tensor], state: dict, params: list[torch.Tensor]) -> list[torch.Tensor]:
        if self.momentum:
            buffers = state["momentum_buffer"]
            if buffers:
                torch._foreach_mul_(buffers, self.momentum)
                torch._foreach_add_(buffers, grads)
            else:
                buffers.extend(torch._foreach_mul(grads, 1.0))
            grads = buffers
        if torch.is_tensor(self.lr):
            return descend_(torch._foreach_mul(grads, 1.0), self.lr)
        return torch._foreach_mul(grads, -self.lr)

"""Adam (Kingma & Ba, 2015)."""
from __future__ import annotations

import torch

from ali_opt.errors import ConfigError, check_fraction, check_positive

from ..options import Option
from .rule import Rule
from .step_size import STEP_SIZE, descend_


def check_betas(key: str, betas) -> tuple[float, float]:
    """A pair of decay rates, each in [0, 1); returned as a tuple."""
    if not isinstance(betas, (list, tuple)) or len(betas) != 2:
        raise ConfigError(f"{key}={betas!r} is not valid; it must be a pair [beta1, beta2], each in [0, 1)")
    return tuple(check_fraction(f"{key}[{index}]", beta) for index, beta in enumerate(betas))


class Adam(Rule):
    r"""Adam step, with the bias corrections of Kingma & Ba (2015, Algorithm 1).

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g,\quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g^2,\\
        u_t = -\eta\, \frac{m_t / (1-\beta_1^t)}{\sqrt{v_t / (1-\beta_2^t)} + \epsilon}

    ``direction`` returns :math:`u_t`, the step to add to the parameters. Matches
    ``torch.optim.Adam`` (``amsgrad=False``) to rounding. Weight decay is part of the loss,
    added to :math:`g` where the scheme takes the gradient (:class:`optimizers.base.GameOptimizer`);
    with it the composition matches ``torch.optim.Adam``'s coupled ``weight_decay``. ``lr`` may be a
    tensor of one step size per ensemble member (see :mod:`.step_size`). A bad value raises a
    :class:`~ali_opt.errors.ConfigError`.
    """

    lr = STEP_SIZE
    betas = Option((0.9, 0.999), check_betas, "Adam rules: the decay rates of the moment estimates")
    eps = Option(1e-8, check_positive, "Adam rules: added to the square root of the second moment", per_player=True)

    def init(self, params: list[torch.Tensor]) -> dict:
        return {
            "step": 0,
            "exp_avg": [torch.zeros_like(p) for p in params],
            "exp_avg_sq": [torch.zeros_like(p) for p in params],
        }

    @torch.no_grad()  # the step is never differentiated
    def direction(self, grads: list[torch.Tensor], state: dict, params: list[torch.Tensor]) -> list[torch.Tensor]:
        beta1, beta2 = self.betas
        state["step"] += 1
        step = state["step"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        torch._foreach_lerp_(exp_avg, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sq, beta2)
        torch._foreach_addcmul_(exp_avg_sq, grads, grads, 1 - beta2)
        denominator = torch._foreach_sqrt(exp_avg_sq)
        torch._foreach_div_(denominator, (1 - beta2**step) ** 0.5)
        torch._foreach_add_(denominator, self.eps)
        steps = torch._foreach_div(exp_avg, denominator)
        return descend_(steps, self.lr, 1 - beta1**step)

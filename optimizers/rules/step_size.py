r"""Step sizes: one number, or one per member of an :class:`~ali_opt.ensemble.Ensemble`.

A per-member ``lr`` is a 1-D tensor of N values; every parameter of an ensemble carries the
member index on its first dimension, so member :math:`i`'s entries are scaled by
:math:`-\eta_i / d`. That factor is formed in float64 and rounded once to the parameter's dtype,
as the Python ``float`` factor of a scalar ``lr`` is, so member :math:`i` of an ensemble steps
exactly as a separate run with ``lr`` :math:`= \eta_i` does.
"""
from __future__ import annotations

import torch

from ali_opt.errors import ConfigError, check_positive

from ..options import Option


def check_step_size(key: str, value):
    """A positive number, or (for an ensemble) a non-empty list or 1-D tensor of them, one per member."""
    if isinstance(value, (list, tuple, torch.Tensor)):
        values = value.tolist() if isinstance(value, torch.Tensor) else value
        if not isinstance(values, (list, tuple)) or not values or \
                not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise ConfigError(f"{key}={value!r} is not valid; give a number, or a non-empty list of numbers (one per "
                              "ensemble member)")
        for index, member_value in enumerate(values):
            check_positive(f"{key}[{index}]", member_value)
        return value
    return check_positive(key, value)


STEP_SIZE = Option(1e-4, check_step_size, "a number, or {player: number} for per-player (two time-scale) rates; "
                   "ensembles: a list per member", per_player=True)
"""``lr``, the option of every rule; its default, 1e-4, is the ALI paper's step size."""


def descend_(steps: list[torch.Tensor], lr: float | torch.Tensor, denominator: float = 1.0) -> list[torch.Tensor]:
    """Multiply ``steps`` in place by ``-lr / denominator`` (per member when ``lr`` is a tensor); return them."""
    if not torch.is_tensor(lr):
        torch._foreach_mul_(steps, -lr / denominator)
        return steps
    per_member = -lr.to(torch.float64) / denominator
    torch._foreach_mul_(steps, [per_member.to(step).reshape(-1, *[1] * (step.dim() - 1)) for step in steps])
    return steps

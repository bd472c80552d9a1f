r"""Step sizes: one number, or one per member of an :class:`~ali_opt.ensemble.Ensemble`.

A per-member ``lr`` is a 1-D tensor of N values; every parameter of an ensemble carries the
member index on its first dimension, so member :math:`i`'s entries are scaled by
:math:`-\eta_i / d`. That factor is formed in float64 and rounded once to the parameter's dtype,
as the Python ``float`` factor of a scalar ``lr`` is, so member :math:`i` of an ensemble steps
exactly as a separate run with ``lr`` :math:`= \eta_i` does.
"""
from __future__ import annotations

import torch


def descend_(steps: list[torch.Tensor], lr: float | torch.Tensor, denominator: float = 1.0) -> list[torch.Tensor]:
    """Multiply ``steps`` in place by ``-lr / denominator`` (per member when ``lr`` is a tensor); return them."""
    if not torch.is_tensor(lr):
        torch._foreach_mul_(steps, -lr / denominator)
        return steps
    per_member = -lr.to(torch.float64) / denominator
    torch._foreach_mul_(steps, [per_member.to(step).reshape(-1, *[1] * (step.dim() - 1)) for step in steps])
    return steps

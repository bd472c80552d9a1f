"""Adaptive competitive gradient descent (``acgd``): CGD with Adam-like step sizes per parameter entry."""
from __future__ import annotations

import math

import torch

from ali_opt.errors import check_fraction, check_positive

from .cgd import CompetitiveGradientDescent, StepSizes, apply_step_sizes
from .field import Vectors, scale
from .options import Option
from .rules.rule import Rule
from .rules.step_size import STEP_SIZE


class ACGDStepSizes(Rule):
    r"""A player's ACGD step sizes, one per parameter entry, from its gradients' second moments.

    .. math::
        v_t = \beta v_{t-1} + (1-\beta)\,\xi_t^2,\qquad
        P_t = \frac{\sqrt{1-\beta^t}\;\eta}{\sqrt{v_t} + \epsilon}

    (``ACGD.step`` in devzhk/cgds-package, ``src/CGDs/acgd.py``: ``sq_exp_avg_*``, then
    ``lr = math.sqrt(bias_correction) * lr / sq_avg.sqrt().add(eps)``; defaults ``beta=0.99``,
    ``eps=1e-5``, here ``acgd_beta`` and ``acgd_eps``). The state, ``step`` and ``exp_avg_sq``, is the
    rule's, saved with the optimizer. This rule gives step sizes only: the steps come from
    :class:`AdaptiveCompetitiveGradientDescent`. ``lr`` may hold one value per ensemble member. A bad
    value raises a :class:`~ali_opt.errors.ConfigError`.
    """

    lr = STEP_SIZE
    acgd_beta = Option(0.99, check_fraction, "acgd: decay of the second-moment estimates")
    acgd_eps = Option(1e-5, check_positive, "acgd: added to their square roots")

    def init(self, params: list[torch.Tensor]) -> dict:
        return {"step": 0, "exp_avg_sq": [torch.zeros_like(p) for p in params]}

    @torch.no_grad()
    def step_sizes(self, grads: list[torch.Tensor], state: dict) -> list[torch.Tensor]:
        """:math:`P_t` after folding ``grads`` into the second moments (this advances the state)."""
        state["step"] += 1
        beta = self.acgd_beta
        torch._foreach_mul_(state["exp_avg_sq"], beta)
        torch._foreach_addcmul_(state["exp_avg_sq"], grads, grads, 1 - beta)
        denominator = torch._foreach_sqrt(state["exp_avg_sq"])
        torch._foreach_add_(denominator, self.acgd_eps)
        return scale(torch._foreach_reciprocal(denominator), math.sqrt(1 - beta ** state["step"]) * self.lr)

    def direction(self, grads, state, params):
        raise TypeError("ACGDStepSizes gives step sizes, not steps: it is the rule of the acgd scheme only")


class AdaptiveCompetitiveGradientDescent(CompetitiveGradientDescent):
    r"""CGD with a diagonal step size per parameter entry, :math:`P_i` of :class:`ACGDStepSizes`.

    Player :math:`i` minimises :math:`\langle\xi_i, \Delta_i\rangle + \Delta_i^\top J_{ij}\Delta_j
    + \tfrac12\Delta_i^\top P_i^{-1}\Delta_i`: CGD's local game with :math:`\eta_i I` replaced by
    :math:`P_i` (Schäfer, Zheng & Anandkumar, 2020, "Implicit competitive regularization in GANs",
    Algorithm 1). For the player :math:`s` solved for and the other, :math:`f`, as the authors'
    ``ACGD.step`` (devzhk/cgds-package, ``src/CGDs/acgd.py``; ``general_conjugate_gradient`` in
    ``src/CGDs/cgd_utils.py``) writes it, in the symmetric form:

    .. math::
        \big(I - P_s^{1/2} J_{sf} P_f J_{fs} P_s^{1/2}\big)\,c_s = P_s^{1/2}\big(\xi_s - J_{sf}P_f\,\xi_f\big),\qquad
        \Delta_s = -P_s^{1/2} c_s,\qquad \Delta_f = -P_f\big(\xi_f + J_{fs}\Delta_s\big)

    Everything else is :class:`~optimizers.cgd.CompetitiveGradientDescent`'s, with the authors'
    defaults there: the players take turns being solved for (``cgd_solve_for="alternate"``; ACGD's
    ``solve_x`` starts False: the maximising player, first in ``game.players``, first), each solve
    starts from the previous step's :math:`c_s` (ACGD's ``old_max`` / ``old_min``: the solved
    player's :math:`c`, and :math:`P_f^{1/2}(\xi_f + J_{fs}\Delta_s)` for the other, scaled by the step
    sizes of the step that found them), stops at ``cgd_tol=1e-6``, ``cgd_atol=1e-10`` (their
    ``tol=1e-12``, ``atol=1e-20`` on :math:`\|r\|^2`) or after as many iterations as unknowns; conjugate
    gradient for a game declaring :attr:`~ali_opt.game.Game.zero_sum` (the matrix is then symmetric
    positive definite), GMRES otherwise (the authors' ACGD is for zero-sum games only; their ``GACGD``
    solves the general-sum block system by GMRES with ``eps=1e-6``). Their ``lr_max`` / ``lr_min``
    (default 1e-3 each) are ``lr`` (one number, or one per player).

    On :math:`\min_x\max_y xy` with step sizes :math:`p_x, p_y` (scalars there) a step maps
    :math:`(x, y)` to :math:`(x - p_x y,\; y + p_y x)/(1 + p_x p_y)`: in the norm
    :math:`x^2/p_x + y^2/p_y` it contracts by :math:`1/\sqrt{1 + p_x p_y}`. Cost per step: as ``cgd``.
    """

    def __init__(self, game, rules, **options):
        super().__init__(game, rules, **options)
        for player, rule in rules.items():
            if not hasattr(rule, "step_sizes"):
                raise ValueError(f"acgd needs ACGD step sizes for player {player!r}; its rule is {rule!r}")

    def _step_sizes(self, xi: Vectors) -> dict[str, StepSizes]:
        return {player: self.rules[player].step_sizes(xi[player], self.rule_states[player])
                for player in self.players}

    def _scalings(self, sizes: StepSizes) -> tuple[StepSizes, StepSizes]:
        root = torch._foreach_sqrt(sizes)
        return root, root

    def _updates(self, solved, solution, other, other_gradient, sizes, right):
        with torch.no_grad():
            steps = {solved: torch._foreach_neg(apply_step_sizes(right, solution)),
                     other: torch._foreach_neg(apply_step_sizes(sizes[other], other_gradient))}
            starts = {solved: list(solution),
                      other: apply_step_sizes(torch._foreach_sqrt(sizes[other]), other_gradient)}
        return ({player: steps[player] for player in self.players},
                {player: starts[player] for player in self.players})

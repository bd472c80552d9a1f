"""Competitive gradient descent (``cgd``)."""
from __future__ import annotations

import torch

from .base import GameOptimizer, Sample, StepReport
from .field import GameField


class CompetitiveGradientDescent(GameOptimizer):
    r"""Each player takes its part of the Nash equilibrium of the local bilinear approximation.

    For two players 1, 2 (``game.players`` order) with step sizes :math:`\eta_1, \eta_2` (each
    player's ``lr``), gradients :math:`\xi_i = \nabla_{\theta_i}\ell_i` and mixed blocks
    :math:`J_{12} = \nabla^2_{\theta_1\theta_2}\ell_1`, :math:`J_{21} = \nabla^2_{\theta_2\theta_1}\ell_2`,
    each player :math:`i` minimises :math:`\langle\xi_i, \Delta_i\rangle + \Delta_i^\top J_{ij}\Delta_j
    + \tfrac{1}{2\eta_i}\|\Delta_i\|^2`; the equilibrium of that game is

    .. math::
        (I - \eta_1\eta_2 J_{12}J_{21})\,c_1 = \xi_1 - \eta_2 J_{12}\,\xi_2,\qquad
        c_2 = \xi_2 - \eta_1 J_{21}\,c_1,\qquad \Delta_i = u^i(c_i)

    (Schäfer & Anandkumar, 2019, "Competitive Gradient Descent", Algorithm 1 and eq. (4),
    written for per-player steps; with the SGD rule :math:`u^i(c) = -\eta_i c` this is CGD
    exactly). The first system is solved by conjugate gradient on Hessian-vector products,
    from 0, until the residual is at most ``cgd_tol`` times :math:`\|b\|` or after
    ``cgd_max_iter`` iterations; the second player's part follows by substitution, as in the
    authors' implementations. For a zero-sum game :math:`J_{21} = -J_{12}^\top`, so the matrix
    is :math:`I + \eta_1\eta_2 J_{12}J_{12}^\top`, symmetric positive definite, and CG converges;
    for a general-sum game (ALI's non-saturating loss) it is not symmetric and CG is then a
    heuristic. On :math:`\min_x\max_y xy` a step scales the distance to the equilibrium by
    :math:`1/\sqrt{1+\eta^2}`.

    Cost per step: one gradient evaluation with each loss's gradient taken for all parameters,
    and :math:`2 + 2n` Hessian-vector products for :math:`n` CG iterations, each counted as one
    gradient evaluation. ``last_cg_iterations`` and ``last_cg_residual`` (relative) describe the last solve.
    """

    def __init__(self, game, rules, *, cgd_tol: float = 1e-6, cgd_max_iter: int = 20, **common):
        super().__init__(game, rules, **common)
        if len(self.players) != 2:
            raise ValueError(f"cgd is defined for two-player games; this game has players {list(self.players)}")
        for player, rule in rules.items():
            if not hasattr(rule, "lr"):
                raise ValueError(f"cgd needs a step size for player {player!r}; its rule {rule!r} has none")
        self.cgd_tol = cgd_tol
        self.cgd_max_iter = cgd_max_iter
        self.last_cg_iterations = 0
        self.last_cg_residual = 0.0

    def step(self, sample: Sample) -> StepReport:
        first, second = self.players
        eta_1, eta_2 = self.rules[first].lr, self.rules[second].lr
        field = GameField(self.game, self.params, sample(), full=True, weight_decay=self.weight_decay)
        xi = field.field
        rhs = torch._foreach_sub(xi[first], torch._foreach_mul(field.block_product(first, second, xi[second]), eta_2))

        def schur(v):
            coupled = field.block_product(first, second, field.block_product(second, first, v))
            return torch._foreach_sub(v, torch._foreach_mul(coupled, eta_1 * eta_2))

        competitive_first = self._conjugate_gradient(schur, rhs)
        coupled = field.block_product(second, first, competitive_first)
        competitive_second = torch._foreach_sub(xi[second], torch._foreach_mul(coupled, eta_1))
        self.grad_evals += 1 + field.products
        self._add(self._directions({first: competitive_first, second: competitive_second}))
        return self._report(field.output, xi)

    def _conjugate_gradient(self, matrix, rhs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Solve ``matrix(x) = rhs`` by conjugate gradient from 0 (Hestenes & Stiefel, 1952)."""
        solution = [torch.zeros_like(t) for t in rhs]
        residual = [t.clone() for t in rhs]
        direction = [t.clone() for t in rhs]
        squared = _dot(residual, residual)
        target = self.cgd_tol**2 * squared
        iterations = 0
        while iterations < self.cgd_max_iter and squared > target and squared > 0:
            product = matrix(direction)
            alpha = squared / _dot(direction, product)
            torch._foreach_add_(solution, torch._foreach_mul(direction, alpha))
            torch._foreach_sub_(residual, torch._foreach_mul(product, alpha))
            new_squared = _dot(residual, residual)
            direction = torch._foreach_add(residual, torch._foreach_mul(direction, new_squared / squared))
            squared = new_squared
            iterations += 1
        self.last_cg_iterations = iterations
        initial = _dot(rhs, rhs)
        self.last_cg_residual = (squared / initial) ** 0.5 if initial > 0 else 0.0
        return solution


def _dot(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return float(sum((x * y).sum() for x, y in zip(a, b)))

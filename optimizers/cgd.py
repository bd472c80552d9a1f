"""Competitive gradient descent (``cgd``)."""
from __future__ import annotations

import torch

from .base import GameOptimizer, Sample, StepReport
from .field import GameField, dot, members_of, scale


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
    gradient evaluation. ``last_cg_iterations`` and ``last_cg_residual`` (relative) describe the last
    solve (in an ensemble: the most iterations and the largest residual over the members; each
    member's conjugate gradient runs and stops on its own inner products and step sizes).
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
        rhs = torch._foreach_sub(xi[first], scale(field.block_product(first, second, xi[second]), eta_2))

        def schur(v):
            coupled = field.block_product(first, second, field.block_product(second, first, v))
            return torch._foreach_sub(v, scale(coupled, eta_1 * eta_2))

        competitive_first = self._conjugate_gradient(schur, rhs, members_of(self.game))
        coupled = field.block_product(second, first, competitive_first)
        competitive_second = torch._foreach_sub(xi[second], scale(coupled, eta_1))
        self.grad_evals += 1 + field.products
        self._add(self._directions({first: competitive_first, second: competitive_second}))
        return self._report(field.output, xi)

    def _conjugate_gradient(self, matrix, rhs: list[torch.Tensor], members: int | None) -> list[torch.Tensor]:
        """Solve ``matrix(x) = rhs`` by conjugate gradient from 0 (Hestenes & Stiefel, 1952); in an
        ensemble, member by member (each stops at its own tolerance)."""
        solution = [torch.zeros_like(t) for t in rhs]
        residual = [t.clone() for t in rhs]
        direction = [t.clone() for t in rhs]
        initial = squared = dot(residual, residual, members)
        target = self.cgd_tol**2 * squared
        active = (squared > target) & (squared > 0)
        iterations = 0
        while iterations < self.cgd_max_iter and bool(active.any()):
            product = matrix(direction)
            alpha = torch.where(active, squared / dot(direction, product, members), 0.0)
            torch._foreach_add_(solution, scale(direction, alpha))
            torch._foreach_sub_(residual, scale(product, alpha))
            new_squared = torch.where(active, dot(residual, residual, members), squared)
            direction = torch._foreach_add(residual, scale(direction, torch.where(active, new_squared / squared, 0.0)))
            squared = new_squared
            active = active & (squared > target)
            iterations += 1
        self.last_cg_iterations = iterations
        relative = torch.where(initial > 0, squared / initial, 0.0).sqrt()
        self.last_cg_residual = float(relative.max())
        return solution

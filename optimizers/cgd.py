"""Competitive gradient descent (``cgd``); its linear solvers, which ``acgd`` (:mod:`.acgd`) shares, are in
:mod:`.krylov`."""
from __future__ import annotations

import warnings
from functools import partial

import torch

from ali_opt.errors import check_choice, check_count_or_auto, check_nonnegative, check_positive
from ali_opt.game import Game

from .base import GameOptimizer, Sample, StepReport
from .field import GameField, Vectors, members_of, scale
from .krylov import SolverOutcome, conjugate_gradient, gmres
from .options import Option

SOLVE_FOR = ("alternate", "first", "second")
"""Whose part of the equilibrium the linear solve finds each step (``cgd_solve_for``): the players'
turns (the authors' BCGD and ACGD), or always the first or the second of ``game.players``."""

StepSizes = float | torch.Tensor | list[torch.Tensor]
"""A player's step size: a number, one per ensemble member (1-D tensor), or one per parameter entry
(a list of tensors shaped like the player's parameters, as ACGD's)."""

def declares_zero_sum(game: Game) -> bool:
    """Whether ``game`` (for an :class:`~ali_opt.ensemble.Ensemble`: its members) declares
    :attr:`~ali_opt.game.Game.zero_sum`."""
    return bool(getattr(getattr(game, "member_template", game), "zero_sum", False))


def apply_step_sizes(sizes: StepSizes | None, vectors: list[torch.Tensor]) -> list[torch.Tensor]:
    """``vectors`` multiplied by the step sizes ``sizes`` (a number, one per member, or one per
    entry); None: ``vectors`` unchanged (the identity)."""
    if sizes is None:
        return vectors
    if isinstance(sizes, (list, tuple)):
        return list(torch._foreach_mul(vectors, list(sizes)))
    return scale(vectors, sizes)


class CompetitiveGradientDescent(GameOptimizer):
    r"""Each player takes its part of the Nash equilibrium of the local bilinear approximation.

    For two players 1, 2 (``game.players`` order) with step sizes :math:`\eta_1, \eta_2` (each
    player's ``lr``), gradients :math:`\xi_i = \nabla_{\theta_i}\ell_i` and mixed blocks
    :math:`J_{12} = \nabla^2_{\theta_1\theta_2}\ell_1`, :math:`J_{21} = \nabla^2_{\theta_2\theta_1}\ell_2`,
    each player :math:`i` minimises :math:`\langle\xi_i, \Delta_i\rangle + \Delta_i^\top J_{ij}\Delta_j
    + \tfrac{1}{2\eta_i}\|\Delta_i\|^2`; the equilibrium of that game solves
    :math:`\begin{pmatrix} I & \eta_1 J_{12}\\ \eta_2 J_{21} & I\end{pmatrix}\Delta = -\begin{pmatrix}\eta_1\xi_1\\ \eta_2\xi_2\end{pmatrix}`,
    i.e., for the player :math:`s` whose part is solved for and the other player :math:`f`,

    .. math::
        (I - \eta_s\eta_f J_{sf}J_{fs})\,c_s = \xi_s - \eta_f J_{sf}\,\xi_f,\qquad
        c_f = \xi_f - \eta_s J_{fs}\,c_s,\qquad \Delta_i = u^i(c_i)

    (Schäfer & Anandkumar, 2019, "Competitive Gradient Descent", Algorithm 1 and eq. (4), written
    for per-player steps; with the SGD rule :math:`u^i(c) = -\eta_i c` this is CGD exactly). The
    reference code is ``BCGD`` in devzhk/cgds-package (``src/CGDs/cgd.py``, with the solver in
    ``src/CGDs/cgd_utils.py``), followed here in:

    - whose part is solved for: ``cgd_solve_for="alternate"`` (the default) takes turns, the first
      player of ``game.players`` (for ALI the discriminator) at the first step, as BCGD's ``solve_x``
      flag starts False and flips after every step; ``"first"`` / ``"second"`` always solve for that
      player. (The authors' GAN scripts pass the generator as BCGD's ``max_params`` and so solve for
      it first: for ALI their alternation starts with ``g``, this one with ``d``.) In exact
      arithmetic the step is the same; the solve's cost and its error when it stops early are not.
    - the warm start: each solve starts from the :math:`c_s` of the previous step (solved for then or
      found by substitution; BCGD's ``old_max`` / ``old_min``), kept in the optimizer's state, so a
      resumed run continues bit for bit. The first solve starts from 0.
    - when to stop: at a residual :math:`\|r\| \le \max(\text{cgd\_tol}\,\|b\|, \text{cgd\_atol})`
      (:math:`b` the right-hand side), or after ``cgd_max_iter`` iterations; BCGD's defaults,
      ``tol=1e-12`` and ``atol=1e-20`` on :math:`\|r\|^2`, are ``cgd_tol=1e-6`` and ``cgd_atol=1e-10`` on
      :math:`\|r\|`, and its cap, ``nsteps=None``, is the number of unknowns: ``cgd_max_iter=None``.
    - the solver: conjugate gradient when the game declares :attr:`~ali_opt.game.Game.zero_sum`: then
      :math:`J_{fs} = -J_{sf}^\top` and the matrix :math:`I + \eta_s\eta_f J_{sf}J_{sf}^\top` is symmetric positive
      definite, the case the authors' CG is written for (their README says so). Any other game gets
      GMRES (Saad & Schultz, 1986; no restarts, Givens rotations, as the authors' ``GMRES`` in
      ``src/CGDs/gmres_torch.py``), as the authors' README advises for non-zero-sum games; conjugate
      gradient assumes a symmetric positive definite matrix, which general-sum games do not give. The authors' general-sum optimizer ``GACGD``
      (``src/CGDs/gmres_acgd.py``) runs GMRES on the block system above from 0 with ``tol=1e-5``,
      ``atol=1e-6``; this scheme runs it on the smaller system for :math:`c_s` (the same solution), with
      the warm start and the stopping rule above, so that both games are solved alike. ``solver``
      names the one in use.

    On :math:`\min_x\max_y xy` a step scales the distance to the equilibrium by
    :math:`1/\sqrt{1+\eta^2}`.

    Cost per step: one gradient evaluation with each loss's gradient taken for all parameters, and
    :math:`2 + 2n` Hessian-vector products for :math:`n` solver iterations (2 more with a warm start,
    for its residual), each counted as one gradient evaluation. ``last_solver_iterations`` and
    ``last_solver_residual`` (:math:`\|r\|/\|b\|`) describe the last solve and ``last_solved`` the player it
    solved for; in an ensemble, the most iterations and the largest residual over the members: each
    member's solve stops on its own, and ``member_grad_evals`` counts each member's own iterations.
    A solve that stops at ``cgd_max_iter`` unconverged warns (once per optimizer).
    """

    scheme_state = ("solves", "previous_solution")
    player_count = 2
    cgd_tol = Option(1e-6, check_positive, "cgd, acgd: the linear solve stops at this residual relative to the "
                     "right-hand side's (or at cgd_atol, or after cgd_max_iter iterations)")
    cgd_atol = Option(1e-10, check_nonnegative, "cgd, acgd: ... or at this absolute residual")
    cgd_max_iter = Option(None, partial(check_count_or_auto, auto_meaning="as many iterations as unknowns"),
                          "cgd, acgd: ... or after this many iterations (None: as many as unknowns, as the authors)")
    cgd_solve_for = Option("alternate", partial(check_choice, choices=SOLVE_FOR),
                           "cgd, acgd: whose part is solved for: alternate (the authors'), first, second")

    def __init__(self, game, rules, **options):
        super().__init__(game, rules, **options)
        for player, rule in rules.items():
            if not hasattr(rule, "lr"):
                raise ValueError(f"{type(self).__name__} needs a step size for player {player!r}; its rule {rule!r} "
                                 "has none")
        self.solver = "cg" if declares_zero_sum(game) else "gmres"
        self.solves = 0
        """Steps taken (whose turn it is to be solved for, with ``cgd_solve_for="alternate"``)."""
        self.previous_solution: Vectors | None = None
        """Each player's :math:`c` of the last step, where the next solve starts."""
        self.last_solver_iterations = 0
        self.last_solver_residual = 0.0
        self.last_solved: str | None = None
        self._warned = False

    # -- what acgd changes -----------------------------------------------------------------
    def _step_sizes(self, xi: Vectors) -> dict[str, StepSizes]:
        """Each player's step size :math:`\\eta_i` this step."""
        return {player: self.rules[player].lr for player in self.players}

    def _scalings(self, sizes: StepSizes) -> tuple[StepSizes | None, StepSizes]:
        """``(L, R)`` for the solved player: the system is
        :math:`(I - L J_{sf} P_f J_{fs} R)\\,c_s = L(\\xi_s - J_{sf} P_f \\xi_f)` (:math:`P_f` the other player's
        step size) and the solved player's equilibrium step is :math:`-R c_s`; here :math:`L = I`, :math:`R = \\eta_s`."""
        return None, sizes

    def _updates(self, solved: str, solution: list[torch.Tensor], other: str, other_gradient: list[torch.Tensor],
                 sizes: dict[str, StepSizes], right: StepSizes) -> tuple[Vectors, Vectors]:
        """The steps (each player's rule applied to its :math:`c`) and where the next solve starts."""
        competitive = {solved: list(solution), other: list(other_gradient)}
        competitive = {player: competitive[player] for player in self.players}
        return self._directions(competitive), competitive

    # -- the step --------------------------------------------------------------------------
    def _solving(self) -> tuple[str, str]:
        first, second = self.players
        if self.cgd_solve_for == "first" or (self.cgd_solve_for == "alternate" and self.solves % 2 == 0):
            return first, second
        return second, first

    def step(self, sample: Sample) -> StepReport:
        solved, other = self._solving()
        field = GameField(self.game, self.params, sample(), full=True, weight_decay=self.weight_decay)
        xi = field.field
        sizes = self._step_sizes(xi)
        left, right = self._scalings(sizes[solved])
        members = members_of(self.game)
        coupled = field.block_product(solved, other, apply_step_sizes(sizes[other], xi[other]))
        rhs = apply_step_sizes(left, torch._foreach_sub(xi[solved], coupled))

        def matrix(v: list[torch.Tensor]) -> list[torch.Tensor]:
            reply = apply_step_sizes(sizes[other], field.block_product(other, solved, apply_step_sizes(right, v)))
            return torch._foreach_sub(v, apply_step_sizes(left, field.block_product(solved, other, reply)))

        start = None if self.previous_solution is None else self.previous_solution[solved]
        unknowns = sum(p.numel() for p in self.params[solved]) // (members or 1)
        solve = conjugate_gradient if self.solver == "cg" else gmres
        solution, outcome = solve(matrix, rhs, start, members, max_iter=self.cgd_max_iter or unknowns,
                                  tol=self.cgd_tol, atol=self.cgd_atol)
        other_gradient = torch._foreach_sub(xi[other],
                                            field.block_product(other, solved, apply_step_sizes(right, solution)))
        steps, self.previous_solution = self._updates(solved, solution, other, other_gradient, sizes, right)
        self.solves += 1
        self._record(solved, outcome)
        total = 1 + field.products
        per_member = None  # each member pays for its own iterations only
        if members is not None:
            per_member = [total + 2 * (n - outcome.loops) for n in outcome.iterations.tolist()]
        self._count(total, per_member)
        self._add(steps)
        return self._report(field.output, xi)

    def _record(self, solved: str, outcome: SolverOutcome) -> None:
        self.last_solved = solved
        self.last_solver_iterations = int(outcome.iterations.max())
        self.last_solver_residual = float(outcome.residual.max())
        if not self._warned and not bool(outcome.converged.all()):
            self._warned = True
            warnings.warn(
                f"{type(self).__name__}: {self.solver} stopped after {outcome.loops} iterations at relative residual "
                f"{self.last_solver_residual:.3g}, above cgd_tol={self.cgd_tol:g} (and the residual above "
                f"cgd_atol={self.cgd_atol:g}); the step solves the local game inexactly. Raise cgd_max_iter (None: the "
                "number of unknowns). This optimizer warns once.", RuntimeWarning, stacklevel=3)

"""Symplectic gradient adjustment (``sga`` with SGD, ``sga_adam`` with Adam)."""
from __future__ import annotations

from functools import partial

import torch

from ali_opt.errors import check_bool, check_choice, check_real

from .base import GameOptimizer, Sample, StepReport
from .field import GameField, combine, dot, flat, members_of
from .options import Option

ALIGNMENT_EPSILON = 0.1
"""The paper's :math:`\\epsilon` in the sign rule (Balduzzi et al., 2018, Algorithm 1)."""

ALIGN_NORMS = ("tensors", "scalars")
"""What the alignment product is divided by: the number of parameter tensors (DeepMind's reference
code) or of scalar parameters."""


class SymplecticGradientAdjustment(GameOptimizer):
    r"""Each player follows the field adjusted by the antisymmetric part of its Jacobian.

    .. math::
        \xi = (\nabla_{\theta_i}\ell_i)_i,\quad A = \tfrac12(J - J^\top),\quad
        A^\top\xi = \tfrac12(J^\top\xi - J\xi),\quad
        \theta^i_{t+1} = \theta^i_t + u^i\big(\xi_i + \lambda\,(A^\top\xi)_i\big)

    (Balduzzi, Racanière, Martens, Foerster, Tuyls & Graepel, 2018, "The Mechanics of
    n-Player Differentiable Games", Algorithm 1). With ``align=True`` (the paper's rule) the
    sign of :math:`\lambda` follows the alignment with the Hamiltonian's gradient
    :math:`\nabla H = J^\top\xi` (:math:`H = \tfrac12\|\xi\|^2`):

    .. math:: \lambda = |\lambda|\;\operatorname{sign}\!\Big(\tfrac1d\langle\xi,\nabla H\rangle\langle A^\top\xi,\nabla H\rangle + \epsilon\Big),\quad \epsilon = 0.1

    with :math:`d` the number of parameters, which the published code counts in two ways.
    ``sga_align_norm="tensors"`` (the default) counts parameter tensors, as DeepMind's reference
    implementation does (``SymplecticOptimizer.apply_gradients`` in
    ``Symplectic_Gradient_Adjustment.ipynb`` of deepmind/symplectic-gradient-adjustment:
    ``n = len(vars_)``, ``tf.sign(mult / n + 0.1)``); ``"scalars"`` counts scalar parameters, as
    other published versions of the rule do (a ``sga(losses, params, align=True, eps=.1)``
    function dividing by ``sum(np.prod(p.shape))``). The two differ only in how far :math:`\epsilon` tips the sign
    towards +. With ``align=False`` :math:`\lambda` is ``sga_lambda`` as given (sign included). In an
    ensemble each member gets its own sign from its own inner products. On
    :math:`\min_x\max_y xy` with SGD, :math:`A^\top\xi = (x, y)` and the step contracts by
    :math:`\sqrt{(1-\eta\lambda)^2+\eta^2}` where simultaneous GDA grows by :math:`\sqrt{1+\eta^2}`.
    Cost per step: one gradient evaluation and three Hessian-vector products
    (:math:`J^\top\xi`, and :math:`J\xi` one block row per player), counted as four gradient
    evaluations.
    """

    sga_lambda = Option(1.0, check_real, "sga: weight of the antisymmetric adjustment (its magnitude when sga_align)")
    sga_align = Option(True, check_bool, "sga: the paper's sign rule for sga_lambda; false keeps sga_lambda as given")
    sga_align_norm = Option("tensors", partial(check_choice, choices=ALIGN_NORMS),
                            "sga: sga_align divides by the number of tensors (DeepMind's code) or of scalars")

    def step(self, sample: Sample) -> StepReport:
        field = GameField(self.game, self.params, sample(), full=True, weight_decay=self.weight_decay)
        xi = field.field
        hamiltonian_gradient = field.transpose_product(xi)
        jacobian_xi = field.product(xi)
        adjustment = combine(hamiltonian_gradient, jacobian_xi, -1.0)
        adjustment = {p: [0.5 * a for a in values] for p, values in adjustment.items()}
        scale = self.sga_lambda
        if self.sga_align:
            members = members_of(self.game)
            if self.sga_align_norm == "tensors":  # in an ensemble each tensor stacks the members' copies
                dimension = len(flat(xi))
            else:
                dimension = sum(t.numel() for t in flat(xi)) // (members or 1)
            alignment = (dot(flat(xi), flat(hamiltonian_gradient), members)
                         * dot(flat(adjustment), flat(hamiltonian_gradient), members) / dimension)
            scale = abs(self.sga_lambda) * torch.sign(alignment + ALIGNMENT_EPSILON)
        self._count(1 + field.products)
        self._add(self._directions(combine(xi, adjustment, scale)))
        return self._report(field.output, xi)

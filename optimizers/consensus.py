"""Consensus optimization (``consensus`` with SGD, ``consensus_adam`` with Adam)."""
from __future__ import annotations

from ali_opt.errors import check_nonnegative

from .base import GameOptimizer, Sample, StepReport
from .field import GameField, combine
from .options import Option


class Consensus(GameOptimizer):
    r"""Each player follows its gradient plus ``gamma`` times the gradient of the field's squared norm.

    .. math::
        \xi = (\nabla_{\theta_i}\ell_i)_i,\qquad L = \tfrac12\|\xi\|^2,\qquad
        \theta^i_{t+1} = \theta^i_t + u^i\big(\xi_i + \gamma\,\nabla_{\theta_i} L\big),
        \qquad \nabla_\theta L = J^\top\xi

    (Mescheder, Nowozin & Geiger, 2017, "The Numerics of GANs", Algorithm 1; the reference
    code, ``ConsensusOptimizer`` in LMescheder/TheNumericsOfGANs, adds ``alpha`` times the
    gradient of :math:`L` over all variables to each gradient and hands the sum to RMSProp;
    here the rule, SGD or Adam, takes that place). The default :math:`\gamma = 10` is the authors':
    ``run.py`` there defaults ``--reg-param`` to 10 and ``consensus_gan/train.py`` passes it to
    ``ConsensusOptimizer`` as ``alpha`` (whose own keyword default, 0.1, ``train.py`` never uses;
    ``experiments/celebA/conopt.py`` passes 10 as well). On :math:`\min_x\max_y xy` with SGD the
    distance to the equilibrium scales by :math:`\sqrt{(1-\eta\gamma)^2+\eta^2}` per step.
    Cost per step: one gradient evaluation and one Hessian-vector product (:math:`J^\top\xi`,
    one double-backward pass), counted as two gradient evaluations.
    """

    gamma = Option(10.0, check_nonnegative, "consensus: weight of the gradient of 1/2 |field|^2 (the authors' run.py "
                   "default)")

    def step(self, sample: Sample) -> StepReport:
        field = GameField(self.game, self.params, sample(), weight_decay=self.weight_decay)
        adjusted = combine(field.field, field.transpose_product(field.field), self.gamma)
        self._count(1 + field.products)
        self._add(self._directions(adjusted))
        return self._report(field.output, field.field)

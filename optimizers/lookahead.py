"""Lookahead-minmax over any game optimizer: every k steps, pull both players back toward slow weights."""
from __future__ import annotations

import torch

from .base import GameOptimizer
from .wrapper import OptimizerWrapper


class Lookahead(OptimizerWrapper):
    r"""Wraps a game optimizer; its iterates are the fast weights :math:`\tilde\theta`.

    .. math::
        \tilde\theta_{t+1} = \text{inner step}(\tilde\theta_t), \quad\text{and when } k \mid t+1:\quad
        \phi \leftarrow \phi + \alpha(\tilde\theta_{t+1} - \phi),\quad \tilde\theta_{t+1} \leftarrow \phi

    with slow weights :math:`\phi_0 = \theta_0`, for every player at once (Chavdarova,
    Pagliardini, Stich, Fleuret & Jaggi, 2021, "Taming GANs with Lookahead-Minmax",
    Algorithm 1; the reference code Chavdarova/LAGAN-Lookahead_Minimax leaves the inner
    optimizer's state, e.g. Adam's moments, untouched at the synchronisation, as here).
    ``k`` counts optimizer steps. On :math:`\min_x\max_y xy`, over simultaneous GDA with step
    :math:`\eta`, every :math:`k` steps scale the distance to the equilibrium by
    :math:`|1-\alpha+\alpha(1+i\eta)^k|`. Buffers (BatchNorm statistics) are not averaged.
    No gradient evaluations of its own.
    """

    def __init__(self, inner: GameOptimizer, k: int, alpha: float):
        super().__init__(inner)
        self.k = k
        self.alpha = alpha
        self.slow = inner.copy_parameters()

    def after_step(self) -> None:
        if self.count % self.k == 0:
            with torch.no_grad():
                for player, params in self.inner.params.items():
                    torch._foreach_lerp_(self.slow[player], params, self.alpha)
            self.inner.restore_parameters(self.slow)

    def state_dict(self) -> dict:
        return {"inner": self.inner.state_dict(), "slow": self.slow, "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        if "slow" not in state:
            raise ValueError("optimizer state holds no lookahead slow weights (it was written without lookahead); "
                             "it cannot continue this optimizer")
        self.inner.load_state_dict(state["inner"])
        self.slow = self.inner.to_device(state["slow"])
        self.count = int(state["count"])

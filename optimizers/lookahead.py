"""Lookahead-minmax over any game optimizer: every k steps, pull both players back toward slow weights."""
from __future__ import annotations

from functools import partial

import torch

from ali_opt.errors import ConfigError, check_fraction

from .base import GameOptimizer
from .options import Option
from .wrapper import OptimizerWrapper


def check_period(key: str, k) -> int:
    """An integer >= 0 (0: off)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ConfigError(f"{key}={k!r} is not valid; it must be 0 (off) or a positive integer")
    return k


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
    No gradient evaluations of its own. :math:`k` is ``lookahead_k`` (0: never synchronise, the inner
    optimizer alone), :math:`\alpha` ``lookahead_alpha``.
    """

    lookahead_k = Option(0, check_period, "lookahead over any scheme: synchronise every k steps (0: off)")
    lookahead_alpha = Option(0.5, partial(check_fraction, closed_low=False),
                             "lookahead: fraction of the way from the slow weights to the fast ones")

    def __init__(self, inner: GameOptimizer, **options):
        super().__init__(inner, **options)
        self.slow = inner.copy_parameters()

    @classmethod
    def turned_on(cls, options: dict) -> bool:
        return options["lookahead_k"] > 0

    def after_step(self) -> None:
        if self.lookahead_k and self.count % self.lookahead_k == 0:
            with torch.no_grad():
                for player, params in self.inner.params.items():
                    torch._foreach_lerp_(self.slow[player], params, self.lookahead_alpha)
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

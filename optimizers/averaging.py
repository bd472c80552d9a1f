"""Iterate averaging over any game optimizer: uniform (Polyak-Ruppert) or exponential moving average."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import torch

from ali_opt.errors import check_choice, check_fraction

from .base import GameOptimizer
from .options import Option
from .wrapper import OptimizerWrapper

AVERAGING = ("none", "uniform", "ema")
"""The kinds of average (``average``); with ``none`` the average is the last iterate."""


class Averaged(OptimizerWrapper):
    r"""Wraps a game optimizer and keeps an average of its iterates :math:`\theta_1, \theta_2, \dots`.

    .. math::
        \text{uniform:}\quad \bar\theta_t = \bar\theta_{t-1} + \tfrac{1}{t}(\theta_t - \bar\theta_{t-1}),
        \qquad
        \text{ema:}\quad \bar\theta_t = \beta\,\bar\theta_{t-1} + (1-\beta)\,\theta_t,\; \bar\theta_0 = \theta_0

    Averaging the extragradient iterates is what gives the :math:`O(1/t)` rate for
    monotone games (Nemirovski, 2004; Gidel et al., 2019). Only parameters are averaged;
    buffers (BatchNorm statistics) stay those of the live model. Evaluate with the average
    inside ``with optimizer.averaged_parameters():``, after recomputing the statistics for the
    averaged weights (``ali_opt.batchnorm.recomputed_statistics``; training runs do this).
    ``average`` is the kind (:data:`AVERAGING`), :math:`\beta` is ``ema_beta``; ``averaged`` holds
    :math:`\bar\theta`, each player's list of averaged parameters.
    """

    average = Option("none", partial(check_choice, choices=AVERAGING), "iterate averaging: none, uniform or ema")
    ema_beta = Option(0.999, partial(check_fraction, closed_low=False), "ema averaging: weight of the old average")

    def __init__(self, inner: GameOptimizer, **options):
        super().__init__(inner, **options)
        with torch.no_grad():
            self.averaged = {player: [p.detach().clone() for p in params] for player, params in inner.params.items()}

    @classmethod
    def turned_on(cls, options: dict) -> bool:
        return options["average"] != "none"

    def after_step(self) -> None:
        if self.average == "uniform":
            weight = 1.0 / self.count
        elif self.average == "ema":
            weight = 1.0 - self.ema_beta
        else:  # none: the last iterate
            weight = 1.0
        with torch.no_grad():
            for player, params in self.inner.params.items():
                torch._foreach_lerp_(self.averaged[player], params, weight)

    @contextmanager
    def averaged_parameters(self) -> Iterator[None]:
        """Temporarily load the averaged parameters into the game (restored on exit)."""
        live = self.inner.copy_parameters()
        self.inner.restore_parameters(self.averaged)
        try:
            yield
        finally:
            self.inner.restore_parameters(live)

    def state_dict(self) -> dict:
        return {"inner": self.inner.state_dict(), "average": self.averaged, "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.inner.load_state_dict(state["inner"])
        self.averaged = self.inner.to_device(state["average"])
        self.count = int(state["count"])

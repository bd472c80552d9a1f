"""Helpers shared by the optimizer tests: a scalar game with hand-checkable iterates, and runners."""
from __future__ import annotations

import torch
from torch import nn

from ali_opt.game import Game, GameOutput
from optimizers import build_optimizer


class ScalarGame(Game):
    r"""Player ``x`` minimises and ``y`` maximises :math:`f(x, y) = xy + \tfrac{\mu}{2}(x^2 - y^2)`.

    The gradients are :math:`\partial_x f = y + \mu x` for ``x`` and :math:`\partial_y(-f) = -x + \mu y`
    for ``y``; the equilibrium is :math:`(0, 0)`. Every batch an evaluation receives is kept in
    ``seen_batches`` and every point it is evaluated at in ``seen_points``, so tests can tell
    which batch each evaluation used and where.
    """

    players = ("y", "x")

    def __init__(self, x0: float = 1.0, y0: float = 2.0, mu: float = 0.0):
        super().__init__()
        self.x = nn.Parameter(torch.tensor(x0, dtype=torch.float64))
        self.y = nn.Parameter(torch.tensor(y0, dtype=torch.float64))
        self.mu = mu
        self.seen_batches = []
        self.seen_points = []

    def player_of(self, parameter_name: str) -> str:
        return parameter_name

    def forward(self, batch=None) -> GameOutput:
        self.seen_batches.append(batch)
        self.seen_points.append(self.point())
        value = self.x * self.y + self.mu / 2 * (self.x**2 - self.y**2)
        return GameOutput(losses={"y": -value, "x": value})

    def point(self) -> tuple[float, float]:
        return self.x.item(), self.y.item()

    def distance_to_equilibrium(self) -> float:
        return torch.hypot(self.x, self.y).item()


class CountingSample:
    """A sample function returning 0, 1, 2, ...: the batch tells how many were drawn before it."""

    def __init__(self):
        self.count = 0

    def __call__(self) -> int:
        self.count += 1
        return self.count - 1


def no_batch():
    """The sample function of deterministic games."""
    return None


def optimizer_for(game: Game, name: str, **config):
    """``build_optimizer`` with ``config`` given as keywords."""
    return build_optimizer(game, {"name": name, **config})


def distances(game: Game, optimizer, steps: int) -> list[float]:
    """The distance to equilibrium before the first step and after each of ``steps`` steps."""
    found = [game.distance_to_equilibrium()]
    for _ in range(steps):
        optimizer.step(no_batch)
        found.append(game.distance_to_equilibrium())
    return found

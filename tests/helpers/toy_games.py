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
    zero_sum = True

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


class BilinearPairGame(Game):
    r"""Players ``a`` and ``b`` (vectors) with losses :math:`\ell_a = a^\top B b + \tfrac{\mu}{2}|a|^2` and
    :math:`\ell_b = b^\top C a + \tfrac{\mu}{2}|b|^2`.

    The field is :math:`(Bb + \mu a, Ca + \mu b)` and the mixed blocks of its Jacobian are :math:`J_{ab} = B`,
    :math:`J_{ba} = C`; the game is zero-sum (up to the players' own terms) when :math:`C = -B^\top`, and
    declares it when built with ``zero_sum=True``. :math:`B` and :math:`C` are buffers, so an :class:`~ali_opt.ensemble.Ensemble`
    stacks them per member.
    """

    players = ("a", "b")

    def __init__(self, b_matrix: torch.Tensor, c_matrix: torch.Tensor, a0: torch.Tensor, b0: torch.Tensor,
                 zero_sum: bool = False, mu: float = 0.0):
        super().__init__()
        self.mu = mu
        self.register_buffer("b_matrix", b_matrix.clone())
        self.register_buffer("c_matrix", c_matrix.clone())
        self.a = nn.Parameter(a0.clone())
        self.b = nn.Parameter(b0.clone())
        self.zero_sum = zero_sum

    @classmethod
    def random(cls, seed: int, dim: int = 4, coupling: float | None = None, zero_sum: bool = False,
               dim_b: int | None = None, mu: float = 0.0):
        r"""``a`` of ``dim`` entries, ``b`` of ``dim_b`` (default ``dim``); standard normal :math:`B`, start
        and, with ``coupling=None``, :math:`C`; else :math:`C = -B^\top + \text{coupling}\cdot E` for a
        standard normal :math:`E` (0: zero-sum)."""
        dim_b = dim if dim_b is None else dim_b
        generator = torch.Generator().manual_seed(seed)
        draw = lambda *shape: torch.randn(*shape, generator=generator, dtype=torch.float64)  # noqa: E731
        b_matrix, other = draw(dim, dim_b), draw(dim_b, dim)
        c_matrix = other if coupling is None else -b_matrix.T + coupling * other
        return cls(b_matrix, c_matrix, draw(dim), draw(dim_b), zero_sum=zero_sum, mu=mu)

    def player_of(self, parameter_name: str) -> str:
        return parameter_name

    def forward(self, batch=None) -> GameOutput:
        own = self.mu / 2
        return GameOutput(losses={"a": self.a @ self.b_matrix @ self.b + own * self.a.square().sum(),
                                  "b": self.b @ self.c_matrix @ self.a + own * self.b.square().sum()})

    def distance_to_equilibrium(self) -> float:
        return torch.cat([self.a, self.b]).norm().item()

    def nash_step(self, eta_a: float, eta_b: float) -> tuple[torch.Tensor, torch.Tensor]:
        r"""CGD's step from here, by a dense solve: the equilibrium :math:`(\Delta_a, \Delta_b)` of the local
        game, :math:`\begin{pmatrix} I & \eta_a B\\ \eta_b C & I\end{pmatrix}\Delta = -\begin{pmatrix}\eta_a\xi_a\\ \eta_b\xi_b\end{pmatrix}`
        (CGD's local game leaves out the players' own second derivatives)."""
        with torch.no_grad():
            dim_a, dim_b = len(self.a), len(self.b)
            system = torch.cat([torch.cat([torch.eye(dim_a, dtype=self.a.dtype), eta_a * self.b_matrix], 1),
                                torch.cat([eta_b * self.c_matrix, torch.eye(dim_b, dtype=self.a.dtype)], 1)])
            field = torch.cat([eta_a * (self.b_matrix @ self.b + self.mu * self.a),
                               eta_b * (self.c_matrix @ self.a + self.mu * self.b)])
            step = torch.linalg.solve(system, -field)
        return step[:dim_a], step[dim_a:]


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

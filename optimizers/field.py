r"""The game's joint gradient field at one point, and products with its Jacobian (never materialised).

For players :math:`i` with parameters :math:`\theta_i` and losses :math:`\ell_i`, the joint
field is :math:`\xi = (\nabla_{\theta_i}\ell_i)_i` and its Jacobian :math:`J = \partial\xi/\partial\theta`
has blocks :math:`J_{ij} = \nabla^2_{\theta_i\theta_j}\ell_i`. :class:`GameField` evaluates the
game once, takes each player's gradient with ``create_graph=True`` and keeps that graph, so
every product below is one more backward pass through it (reverse-over-reverse, autograd's
double backward):

- ``transpose_product(u)`` :math:`= J^\top u = \nabla_\theta \sum_i \langle \nabla_{\theta_i}\ell_i, u_i\rangle`: one pass;
- ``block_product(i, j, v)`` :math:`= J_{ij} v = \nabla_{\theta_i}\langle\nabla_{\theta_j}\ell_i, v\rangle`: one pass
  (needs ``full=True``: each loss's gradient with respect to every player's parameters);
- ``product(v)`` :math:`= Jv`, one block row per player: one pass per player (``full=True``).

Why double backward and not ``torch.func.jvp`` (forward-over-reverse): measured on the
quarter-width cifar32 ALI game at batch 100 on this project's CPU (``benchmarks/spectrum.py``),
one product through the kept graph costs less than a ``torch.func`` forward-over-reverse
product, which re-runs the forward pass every time; the numbers are in the README.

Counting: ``products`` counts the backward passes through the gradient graph (each one
Hessian-vector product). The schemes add them to ``grad_evals``: one Hessian-vector
product counts as one gradient evaluation.
"""
from __future__ import annotations

from typing import Any

import torch

from ali_opt.game import Game, GameOutput

Vectors = dict[str, list[torch.Tensor]]
"""One list of tensors per player, shaped like that player's parameters."""


class GameField:
    r"""The joint field of ``game`` on ``batch`` at the current ``params`` (player -> parameter list).

    ``field`` holds each player's gradient of its own loss, detached; ``output`` the game's output.
    ``weight_decay`` (player -> :math:`\lambda_i`, as :class:`~optimizers.base.GameOptimizer` holds it) adds
    :math:`\tfrac{\lambda_i}{2}\|\theta_i\|^2` to player :math:`i`'s loss, so the field, its Jacobian and
    every product include it, as ``GameOptimizer._evaluate`` does. The game is evaluated once, at a
    point the iterates visit (BatchNorm running statistics move once, as in ``_evaluate``); the
    products are backward passes only and move nothing.
    """

    def __init__(self, game: Game, params: dict[str, list[torch.Tensor]], batch: Any, *, full: bool = False,
                 weight_decay: dict[str, float] | None = None):
        self.params = params
        self.players = tuple(params)
        self.output: GameOutput = game(batch)
        everything = [p for player in self.players for p in params[player]]
        self._gradients: dict[str, Vectors] = {}
        for player in self.players:
            wrt = everything if full else params[player]
            loss = self.output.losses[player]
            decay = (weight_decay or {}).get(player, 0.0)
            if decay:
                loss = loss + decay / 2 * sum(p.square().sum() for p in params[player])
            found = torch.autograd.grad(loss, wrt, create_graph=True, allow_unused=True)
            found = [torch.zeros_like(p) if g is None else g for g, p in zip(found, wrt)]
            if full:
                grouped, start = {}, 0
                for other in self.players:
                    grouped[other] = found[start:start + len(params[other])]
                    start += len(params[other])
            else:
                grouped = {player: found}
            self._gradients[player] = grouped
        self.field: Vectors = {player: [g.detach() for g in self._gradients[player][player]] for player in self.players}
        self.products = 0

    def _backward(self, outputs: list[torch.Tensor], vectors: list[torch.Tensor], wrt: list[torch.Tensor]):
        self.products += 1
        found = torch.autograd.grad(outputs, wrt, grad_outputs=vectors, retain_graph=True, allow_unused=True)
        return [torch.zeros_like(p) if g is None else g.detach() for g, p in zip(found, wrt)]

    def transpose_product(self, u: Vectors) -> Vectors:
        r""":math:`J^\top u`: one backward pass."""
        outputs = [g for player in self.players for g in self._gradients[player][player]]
        vectors = [t for player in self.players for t in u[player]]
        everything = [p for player in self.players for p in self.params[player]]
        return self._split(self._backward(outputs, vectors, everything))

    def block_product(self, row: str, column: str, v: list[torch.Tensor]) -> list[torch.Tensor]:
        r""":math:`J_{\text{row},\text{column}}\, v = \nabla^2_{\theta_\text{row}\theta_\text{column}}\ell_\text{row}\, v`: one backward pass."""
        return self._backward(self._gradients[row][column], v, self.params[row])

    def product(self, v: Vectors) -> Vectors:
        r""":math:`Jv`: one backward pass per player."""
        found = {}
        for player in self.players:
            outputs = [g for other in self.players for g in self._gradients[player][other]]
            vectors = [t for other in self.players for t in v[other]]
            found[player] = self._backward(outputs, vectors, self.params[player])
        return found

    def _split(self, flat: list[torch.Tensor]) -> Vectors:
        split, start = {}, 0
        for player in self.players:
            split[player] = flat[start:start + len(self.params[player])]
            start += len(self.params[player])
        return split


def members_of(game: Game) -> int | None:
    """The number of members of an ensemble game (:class:`ali_opt.ensemble.Ensemble`), None for one game.

    An ensemble's parameters carry the members along their first dimension, and its losses are
    the members' sums, so every Jacobian product above is member by member already; only the
    reductions below must not mix members.
    """
    return getattr(game, "members", None)


def dot(a: list[torch.Tensor], b: list[torch.Tensor], members: int | None = None) -> torch.Tensor:
    """The inner product of two lists of tensors: a 0-d tensor, or one value per member."""
    if members is None:
        return torch.stack([(x * y).sum() for x, y in zip(a, b)]).sum()
    return torch.stack([(x * y).reshape(members, -1).sum(1) for x, y in zip(a, b)]).sum(0)


def scale(vectors: list[torch.Tensor], factor: float | torch.Tensor) -> list[torch.Tensor]:
    """``factor`` times each tensor; a 1-D ``factor`` holds one value per member (the first dimension)."""
    if torch.is_tensor(factor) and factor.dim():
        return [t * factor.to(t.dtype).view(-1, *[1] * (t.dim() - 1)) for t in vectors]
    return [t * factor for t in vectors]


def flat(vectors: Vectors) -> list[torch.Tensor]:
    """The tensors of every player, in player order."""
    return [t for values in vectors.values() for t in values]


def combine(a: Vectors, b: Vectors, factor: float | torch.Tensor) -> Vectors:
    """``a + factor * b``, player by player (``factor`` may hold one value per member)."""
    return {p: [x + y for x, y in zip(a[p], scale(b[p], factor))] for p in a}

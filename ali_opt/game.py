"""The game abstraction every optimizer drives.

A game is a ``torch.nn.Module`` whose ``forward(batch)`` returns a :class:`GameOutput`:
one loss per player (each player minimises its own loss) computed from one shared forward
pass, plus detached diagnostics. Every parameter belongs to exactly one player, as
:meth:`Game.player_of` says. Because a game is a plain Module, ``torch.func`` applies to it
unchanged, e.g. ``torch.func.functional_call(game, (params, buffers), (batch,)).losses``
(pass the buffers too when the game has BatchNorm statistics).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn


class GameOutput(NamedTuple):
    """What one evaluation of a game returns (a pytree, so ``torch.func`` can trace it)."""

    losses: dict[str, torch.Tensor]
    """Each player's scalar loss, to be minimised by that player."""
    metrics: dict[str, torch.Tensor] = {}
    """Detached scalars worth logging (e.g. discriminator outputs); never differentiated."""


class Game(nn.Module):
    """Base class for games; subclasses set ``players`` and implement ``player_of`` and ``forward``.

    ``players`` is ordered: alternating schemes update players in this order, so the
    discriminator-side (maximising) player comes first.
    """

    players: tuple[str, ...] = ()

    zero_sum: bool = False
    r"""True when the players' losses sum to zero, up to terms that each depend on one player's
    parameters only (two players: :math:`\nabla^2_{\theta_2\theta_1}\ell_2 = -(\nabla^2_{\theta_1\theta_2}\ell_1)^\top`).
    Competitive gradient descent then solves its linear system by conjugate gradient; for a game
    that does not declare it, by GMRES (:mod:`optimizers.cgd`)."""

    def player_of(self, parameter_name: str) -> str:
        """The player owning the parameter called ``parameter_name`` in ``named_parameters()``."""
        raise NotImplementedError

    def forward(self, batch: Any) -> GameOutput:  # noqa: D102 - documented on the class
        raise NotImplementedError

    def player_parameters(self) -> dict[str, dict[str, nn.Parameter]]:
        """Each player's named parameters, in ``players`` order; checks every one has an owner."""
        owned: dict[str, dict[str, nn.Parameter]] = {player: {} for player in self.players}
        for name, parameter in self.named_parameters():
            player = self.player_of(name)
            if player not in owned:
                raise ValueError(
                    f"{type(self).__name__}.player_of({name!r}) returned {player!r}, "
                    f"which is not one of the players {self.players}"
                )
            owned[player][name] = parameter
        return owned

    def sample_batch(self, generator: torch.Generator) -> Any:
        """Draw the batch the next evaluation uses; deterministic games need none."""
        return None

    def distance_to_equilibrium(self) -> float | None:
        """Distance of the current parameters to the game's equilibrium, when it is known."""
        return None

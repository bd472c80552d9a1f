"""What every game optimizer shares: gradient evaluation, parameter updates, reports, state."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from ali_opt.batchnorm import running_statistics_frozen
from ali_opt.errors import check_bool, check_nonnegative
from ali_opt.game import Game, GameOutput

from .field import members_of
from .options import Option, OptionOwner
from .rules import Rule

RESAMPLE = Option(True, check_bool, "extragradient and alternating: fresh batch for each later evaluation")
"""``resample``, an option of the schemes that evaluate the game more than once per step."""


@dataclass
class StepReport:
    """What one optimizer step saw at its pre-update point; tensors stay on the device (no sync).

    For schemes that evaluate a player's gradient somewhere else (alternating: after the
    opponent moved; past extragradient: at the extrapolated point), the gradient norms are
    those of the gradient the step used, taken where the scheme took it (weight decay
    included). The losses are the game's, without the weight-decay term.
    """

    losses: dict[str, torch.Tensor]
    grad_norms: dict[str, torch.Tensor]
    parameter_grad_norms: dict[str, torch.Tensor]
    """Per player, the norm of each parameter's gradient, in ``GameOptimizer.parameter_names`` order."""
    metrics: dict[str, torch.Tensor]
    grad_evals: int
    """Cumulative number of game evaluations with gradients (a forward pass and its backward passes).
    For an :class:`~ali_opt.ensemble.Ensemble`, those the ensemble made (the most of any member)."""
    member_grad_norms: dict[str, torch.Tensor] | None = None
    """For an :class:`~ali_opt.ensemble.Ensemble`, each player's gradient norm per member, shape (N,)."""
    member_grad_evals: list[int] | None = None
    """For an :class:`~ali_opt.ensemble.Ensemble`, each member's ``grad_evals``: what a separate run of
    that member would count (schemes with an iterative solver, ``cgd`` and ``acgd``, stop each member's
    solve on its own)."""


Sample = Callable[[], Any]
"""Draws a fresh batch each time it is called."""


class GameOptimizer(OptionOwner):
    r"""Base class of the game schemes: one ``step(sample)`` call is one full game step.

    Subclasses implement ``step`` with the helpers below and name in ``scheme_state`` the
    attributes they keep across steps. Each of their options is one :class:`~optimizers.options.Option`
    class attribute (its default, check and meaning); the constructor takes it by keyword, checks it
    (a bad value raises a :class:`~ali_opt.errors.ConfigError`) and sets it as the attribute of that name.

    ``weight_decay`` (:math:`\lambda`, one number or one per player) is part of each player's
    loss, :math:`\ell^i + \tfrac{\lambda_i}{2}|\theta^i|^2`: :meth:`_evaluate` adds
    :math:`\lambda_i\theta^i` to the gradient at the point where it takes the gradient, so
    every scheme (extrapolated points included) sees the L2 term where it sees the data term.
    """

    weight_decay = Option(0.0, check_nonnegative, "the L2 term lambda/2 |theta|^2 of each player's loss, in the "
                          "gradient wherever the scheme takes one", per_player=True)

    player_count: int | None = None
    """The number of players the scheme is defined for (None: any)."""

    def __init__(self, game: Game, rules: dict[str, Rule], **options):
        self.game = game
        self.rules = rules
        named = game.player_parameters()
        self.players = tuple(named)
        if self.player_count is not None and len(self.players) != self.player_count:
            raise ValueError(f"{type(self).__name__} is defined for {self.player_count}-player games; this game has "
                             f"players {list(self.players)}")
        self._take_options(options, self.players)
        weight_decay = self.weight_decay
        self.weight_decay = {player: float(weight_decay[player] if isinstance(weight_decay, Mapping) else weight_decay)
                             for player in self.players}
        self.parameter_names = {player: list(params) for player, params in named.items()}
        self.params = {player: list(params.values()) for player, params in named.items()}
        self.rule_states = {player: rules[player].init(self.params[player]) for player in self.players}
        self.grad_evals = 0
        members = members_of(game)
        self.member_grad_evals: list[int] | None = None if members is None else [0] * members
        """In an ensemble, each member's count of gradient evaluations (see :class:`StepReport`)."""

    def step(self, sample: Sample) -> StepReport:
        raise NotImplementedError

    # -- helpers for schemes -------------------------------------------------------------
    def _evaluate(self, batch: Any, players: Iterable[str] | None = None, *, visited: bool = True):
        """Evaluate the game on ``batch``; return its output and the gradient of each of
        ``players`` (default: all) with respect to its own parameters, weight decay included.

        ``visited=False`` marks a point the iterates do not visit (an extrapolated or
        intermediate point): the evaluation then leaves BatchNorm running statistics as they are.
        """
        players = self.players if players is None else tuple(players)
        if visited:
            output: GameOutput = self.game(batch)
        else:
            with running_statistics_frozen(self.game):
                output = self.game(batch)
        grads = {}
        for index, player in enumerate(players):
            found = torch.autograd.grad(
                output.losses[player], self.params[player],
                retain_graph=index < len(players) - 1, allow_unused=True,
            )
            grads[player] = [torch.zeros_like(p) if g is None else g for g, p in zip(found, self.params[player])]
            if self.weight_decay[player]:
                with torch.no_grad():
                    grads[player] = torch._foreach_add(grads[player], self.params[player], alpha=self.weight_decay[player])
        self._count(1)
        return output, grads

    def _count(self, evaluations: int, member_evaluations: list[int] | None = None) -> None:
        """Add ``evaluations`` to ``grad_evals``; in an ensemble add ``member_evaluations`` (default:
        ``evaluations`` for every member) to ``member_grad_evals``."""
        self.grad_evals += evaluations
        if self.member_grad_evals is not None:
            if member_evaluations is None:
                member_evaluations = [evaluations] * len(self.member_grad_evals)
            self.member_grad_evals = [int(a) + int(b) for a, b in zip(self.member_grad_evals, member_evaluations)]

    def _directions(self, grads: dict[str, list[torch.Tensor]]) -> dict[str, list[torch.Tensor]]:
        """Each player's step from its rule (this advances the rules' state)."""
        return {
            player: self.rules[player].direction(g, self.rule_states[player], self.params[player])
            for player, g in grads.items()
        }

    @torch.no_grad()
    def _add(self, steps: dict[str, list[torch.Tensor]]) -> None:
        for player, step in steps.items():
            torch._foreach_add_(self.params[player], step)

    @torch.no_grad()
    def copy_parameters(self) -> dict[str, list[torch.Tensor]]:
        """A copy of every player's parameters (public: wrappers and ensemble training keep iterates too)."""
        return {player: torch._foreach_mul(params, 1.0) for player, params in self.params.items()}

    @torch.no_grad()
    def restore_parameters(self, saved: dict[str, list[torch.Tensor]]) -> None:
        """Put back the parameters of the players in ``saved`` (as :meth:`copy_parameters` returns them)."""
        for player, values in saved.items():
            torch._foreach_copy_(self.params[player], values)

    def _report(self, output: GameOutput, grads: dict[str, list[torch.Tensor]]) -> StepReport:
        parameter_norms = {
            player: torch.stack(torch._foreach_norm(g)) if g else torch.zeros(0) for player, g in grads.items()
        }
        return StepReport(
            losses={player: loss.detach() for player, loss in output.losses.items()},
            grad_norms={player: torch.linalg.vector_norm(norms) for player, norms in parameter_norms.items()},
            parameter_grad_norms=parameter_norms,
            metrics=dict(output.metrics),
            grad_evals=self.grad_evals,
            member_grad_norms=self.game.member_grad_norms(grads) if hasattr(self.game, "member_grad_norms") else None,
            member_grad_evals=None if self.member_grad_evals is None else list(self.member_grad_evals),
        )

    # -- state ---------------------------------------------------------------------------
    def to_device(self, value):
        """``value`` with every tensor in it moved to the parameters' device (a loaded state may come from another)."""
        device = next(self.game.parameters()).device
        if isinstance(value, torch.Tensor):
            return value.to(device)
        if isinstance(value, list):
            return [self.to_device(v) for v in value]
        if isinstance(value, dict):
            return {k: self.to_device(v) for k, v in value.items()}
        return value

    scheme_state: tuple[str, ...] = ()
    """Names of the attributes that carry a scheme's state across steps (saved and loaded)."""

    def state_dict(self) -> dict:
        """Everything needed to continue bit for bit (the parameters live in the game's own state)."""
        scheme = {name: getattr(self, name) for name in self.scheme_state}
        state = {"grad_evals": self.grad_evals, "rules": self.rule_states, "scheme": scheme}
        if self.member_grad_evals is not None:
            state["member_grad_evals"] = list(self.member_grad_evals)
        return state

    def load_state_dict(self, state: dict) -> None:
        if set(state["rules"]) != set(self.players):
            raise ValueError(f"optimizer state is for players {sorted(state['rules'])}, this game has {list(self.players)}")
        self.grad_evals = int(state["grad_evals"])
        if self.member_grad_evals is not None:  # a state written before per-member counts: every member the total
            found = state.get("member_grad_evals", [self.grad_evals] * len(self.member_grad_evals))
            if len(found) != len(self.member_grad_evals):
                raise ValueError(f"optimizer state counts {len(found)} members, this ensemble has "
                                 f"{len(self.member_grad_evals)}")
            self.member_grad_evals = [int(count) for count in found]
        self.rule_states = {player: self.to_device(state["rules"][player]) for player in self.players}
        missing = [name for name in self.scheme_state if name not in state["scheme"]]
        if missing:
            raise ValueError(f"optimizer state lacks {missing} (it was written by another scheme, or by an earlier "
                             f"version of {type(self).__name__}); it cannot continue this optimizer")
        for name in self.scheme_state:
            setattr(self, name, self.to_device(state["scheme"][name]))

r"""Many independent copies of one game trained in one process: :class:`Ensemble`.

``Ensemble(games)`` is itself a :class:`~ali_opt.game.Game` with the members' players. Its
parameters are the members' parameters stacked along a new first dimension
(:func:`torch.func.stack_module_state`), owned by the same players, and its ``forward``
evaluates every member with :func:`torch.func.vmap` over :func:`torch.func.functional_call`
and returns, for each player, the *sum* of the members' losses:

.. math:: \ell^p_{\rm ensemble}(\theta_1, \dots, \theta_N) = \sum_{i=1}^N \ell^p(\theta_i; b_i).

Member :math:`i`'s loss depends on :math:`\theta_i` only, so the gradient of the sum with
respect to :math:`\theta_i` is member :math:`i`'s own gradient. Every game optimizer whose rule
acts elementwise (SGD, Adam; every scheme; uniform and EMA averaging) therefore drives each
member along exactly the trajectory it would follow alone; ``lr`` may also be a tensor of N
step sizes (see :mod:`optimizers.rules`), so one process runs a step-size sweep.

Batches. ``forward`` takes one batch shared by every member, or a :class:`Stacked` batch whose
tensors carry a leading member dimension. With ``batch_seeds``, ``sample_batch`` draws member
:math:`i`'s batch from its own generator seeded with ``batch_seeds[i]``, exactly as a separate run
of game :math:`i` seeded with ``batch_seeds[i]`` draws it; these generators are part of the
ensemble's ``state_dict`` (as extra state), so checkpoints carry them.

Buffers and randomness. Buffers (BatchNorm running statistics) are stacked too and move per
member: each member's statistics follow its own batches, as in a separate run. A batch carries
its randomness: tensors of noise (ALI's prior draws z and encoder noise epsilon, the toy
games' data) and seeds, Python ints such as ALI's ``dropout_seed``. Stacking turns the
members' seeds into one :class:`PerMember` entry (a shared batch's seed becomes one per
member), and a batch holding one is evaluated with ``vmap(randomness="same")``: each member
reads its seed with :func:`member_index` and draws from a generator of its own, so member
:math:`i` reuses every random draw of its batch, dropout masks included, and those draws are the
ones a separate run draws from the same batch (ALI: :func:`ali_opt.models.layers.seeded_dropout`).
Extragradient and alternating schemes that evaluate one batch twice therefore see the same masks
twice, as in a separate run. Only a batch without seeds (ALI's with ``dropout_seed=None``) leaves
the draws inside a member's forward pass to ``vmap(randomness="different")``: independent
across members, reproducible from the global torch seed, new at every evaluation, and not the
numbers a separate run would draw.
"""
from __future__ import annotations

import copy
import statistics
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from torch.utils import _pytree as pytree

from .game import Game, GameOutput

SEPARATOR = ":"
"""Stands for the dots of a member's parameter names (a Module's own names cannot hold dots)."""


class Stacked(NamedTuple):
    """A batch with one entry per member along the first dimension of every tensor in ``batch``
    (and in every :class:`PerMember` entry)."""

    batch: Any


@dataclass(frozen=True)
class PerMember:
    """One seed per member (a non-tensor entry of a stacked batch, such as ALI's ``dropout_seed``):
    member i's forward pass finds it whole and takes ``values[i]`` by :func:`member_index`."""

    values: tuple[int, ...]


_MEMBER_INDEX: ContextVar[torch.Tensor | None] = ContextVar("ensemble_member_index", default=None)


def member_index() -> torch.Tensor | None:
    """Inside an :class:`Ensemble`'s forward pass, the index of the member being evaluated (a 0-d
    tensor, batched under ``vmap``: index a stack of every member's values with it); None outside."""
    return _MEMBER_INDEX.get()


class Ensemble(Game):
    """N members of one game class, stacked; see the module docstring.

    ``games``: the members (same class, same parameter and buffer names and shapes); their
    values are copied, the games themselves are not kept. ``batch_seeds``: one seed per member
    for :meth:`sample_batch`. ``draw``: how one member's batch is drawn from a generator
    (default: the members' own ``sample_batch``).
    """

    def __init__(self, games: Sequence[Game], batch_seeds: Sequence[int] | None = None,
                 draw: Callable[[torch.Generator], Any] | None = None):
        super().__init__()
        if not games:
            raise ValueError("an Ensemble needs at least one game")
        _check_alike(games)
        if batch_seeds is not None and len(batch_seeds) != len(games):
            raise ValueError(f"batch_seeds has {len(batch_seeds)} seeds for {len(games)} games; give one per game")
        self.players = games[0].players
        self.members = len(games)
        prototype = copy.deepcopy(games[0])
        object.__setattr__(self, "_prototype", prototype)  # not a submodule: its tensors are not the ensemble's
        object.__setattr__(self, "_stateless", copy.deepcopy(prototype).to("meta"))
        self._draw = draw if draw is not None else prototype.sample_batch
        params, buffers = stack_module_state(list(games))
        self.stacked = nn.Module()  # a ParameterDict would sort the names; this keeps the members' order
        for name, value in params.items():
            self.stacked.register_parameter(_key(name), nn.Parameter(value.detach()))
        self.stacked_buffers = nn.Module()
        for name, value in buffers.items():
            self.stacked_buffers.register_buffer(_key(name), value)
        self.batch_generators = [torch.Generator().manual_seed(int(seed)) for seed in batch_seeds or ()]

    # -- the Game interface --------------------------------------------------------------
    def player_of(self, parameter_name: str) -> str:
        return self._prototype.player_of(_member_name(parameter_name.removeprefix("stacked.")))

    def forward(self, batch: Any = None) -> GameOutput:
        """The summed losses; ``metrics`` holds each member's losses (``loss_<player>``) and metrics, shape (N,)."""
        params = {_member_name(key): value for key, value in self.stacked.named_parameters()}
        buffers = {_member_name(key): value for key, value in self.stacked_buffers.named_buffers()}
        stacked = isinstance(batch, Stacked)
        self._stateless.train(self.training)  # not a submodule, so train() / eval() do not reach it

        def member(member_params, member_buffers, member_batch, index):
            token = _MEMBER_INDEX.set(index)
            try:
                output = functional_call(self._stateless, (member_params, member_buffers), (member_batch,))
            finally:
                _MEMBER_INDEX.reset(token)
            return output.losses, dict(output.metrics)

        batch = batch.batch if stacked else pytree.tree_map(self._seeds_per_member, batch)
        batch_dims = pytree.tree_map(lambda leaf: 0 if isinstance(leaf, torch.Tensor) else None, batch) \
            if stacked else None
        seeded = any(isinstance(leaf, PerMember) for leaf in pytree.tree_leaves(batch))
        indices = torch.arange(self.members, device=next(iter(params.values())).device)
        losses, metrics = vmap(member, in_dims=(0, 0, batch_dims, 0), randomness="same" if seeded else "different")(
            params, buffers, batch, indices)
        member_losses = {f"loss_{player}": loss.detach() for player, loss in losses.items()}
        return GameOutput(losses={player: loss.sum() for player, loss in losses.items()},
                          metrics={**member_losses, **metrics})

    def sample_batch(self, generator: torch.Generator | None = None) -> Stacked | None:
        """One batch per member, stacked. With ``batch_seeds`` member i draws from its own generator
        (``generator`` is not used); without, the N batches are drawn one after another from ``generator``."""
        generators = self.batch_generators or [generator] * self.members
        batches = [self._draw(member_generator) for member_generator in generators]
        if batches[0] is None:  # deterministic games draw no batch
            return batches[0]
        return Stacked(pytree.tree_map(_stack, batches[0], *batches[1:]))

    def _seeds_per_member(self, leaf: Any) -> Any:
        """A seed of a batch shared by every member: the same seed for each member."""
        return PerMember((leaf,) * self.members) if _is_seed(leaf) else leaf

    def distance_to_equilibrium(self) -> float | None:
        """The median of :meth:`member_distances` (None when the game knows no equilibrium)."""
        distances = self.member_distances()
        return None if distances is None else statistics.median(distances)

    @property
    def member_template(self) -> nn.Module:
        """The module every member runs as (its tensors are placeholders on the meta device):
        :func:`ali_opt.batchnorm.running_statistics_frozen` reaches its BatchNorm layers."""
        return self._stateless

    # -- members -------------------------------------------------------------------------
    def member(self, index: int) -> Game:
        """A standalone copy of member ``index`` (parameters and buffers as they are now)."""
        game = copy.deepcopy(self._prototype)
        game.load_state_dict(self.member_state(index))
        return game.to(next(self.parameters()).device)

    def member_state(self, index: int) -> dict[str, torch.Tensor]:
        """Member ``index``'s ``state_dict``: every parameter and buffer at that index."""
        state = {_member_name(key): value.detach()[index] for key, value in self.stacked.named_parameters()}
        state.update({_member_name(key): value[index] for key, value in self.stacked_buffers.named_buffers()})
        return state

    def member_distances(self) -> list[float] | None:
        """Each member's ``distance_to_equilibrium()`` (None when the game knows none)."""
        distances = [self.member(index).distance_to_equilibrium() for index in range(self.members)]
        return None if distances[0] is None else distances

    @torch.no_grad()
    def member_grad_norms(self, grads: dict[str, list[torch.Tensor]]) -> dict[str, torch.Tensor]:
        """Each player's gradient norm per member, shape (N,), from stacked gradients."""
        return {player: torch.stack([g.reshape(len(g), -1).square().sum(1) for g in player_grads]).sum(0).sqrt()
                if player_grads else torch.zeros(self.members) for player, player_grads in grads.items()}

    @torch.no_grad()
    def member_parameters_finite(self) -> torch.Tensor:
        """(N,) booleans: every parameter of member i is finite."""
        return torch.stack([p.reshape(len(p), -1).isfinite().all(1) for p in self.stacked.parameters()]).all(0)

    # -- batch generators travel in the state_dict ----------------------------------------
    def get_extra_state(self) -> dict:
        return {"batch_generators": [generator.get_state() for generator in self.batch_generators]}

    def set_extra_state(self, state: dict) -> None:
        states = state["batch_generators"]
        if len(states) != len(self.batch_generators):
            raise ValueError(f"the state holds {len(states)} batch generators, this ensemble has "
                             f"{len(self.batch_generators)}")
        for generator, generator_state in zip(self.batch_generators, states):
            generator.set_state(generator_state)


def _is_seed(leaf: Any) -> bool:
    return isinstance(leaf, int) and not isinstance(leaf, bool)


def _stack(*leaves):
    """The members' values of one batch entry: tensors stacked; seeds (Python ints) gathered into
    one :class:`PerMember`; anything else (None, a float) must be the same for every member and is shared."""
    if isinstance(leaves[0], torch.Tensor):
        return torch.stack(leaves)
    if all(_is_seed(leaf) for leaf in leaves):
        return PerMember(tuple(leaves))
    if any(leaf != leaves[0] for leaf in leaves):
        raise ValueError(f"the members' batches differ in a non-tensor entry ({leaves[0]!r}, ...); a stacked batch "
                         "can only share such entries, or hold one seed (an int) per member")
    return leaves[0]


def _key(name: str) -> str:
    return name.replace(".", SEPARATOR)


def _member_name(key: str) -> str:
    return key.replace(SEPARATOR, ".")


def _check_alike(games: Sequence[Game]) -> None:
    first = games[0]
    shapes = {name: tensor.shape for name, tensor in first.state_dict().items()}
    for index, game in enumerate(games[1:], 1):
        if type(game) is not type(first):
            raise ValueError(f"game {index} is a {type(game).__name__}, game 0 a {type(first).__name__}; "
                             "an Ensemble's games share one class")
        found = {name: tensor.shape for name, tensor in game.state_dict().items()}
        if found != shapes:
            raise ValueError(f"game {index} has other parameters or shapes than game 0; an Ensemble's games share them")

"""Options declared once, by the rule, scheme or wrapper that takes them.

An owner (a rule, a :class:`~optimizers.base.GameOptimizer` subclass, a wrapper) declares each of its
options as a class attribute holding an :class:`Option`, its default, check and meaning::

    class Consensus(GameOptimizer):
        gamma = Option(10.0, check_nonnegative, "consensus: weight of the gradient of 1/2 |field|^2")

That one line makes ``gamma`` the constructor's keyword (``Consensus(game, rules, gamma=2.0)``), its
config key (``optimizer.gamma``) and, once built, the instance's attribute (``self.gamma``, the checked
value). An owner's options include its bases' (every scheme takes :class:`~optimizers.base.GameOptimizer`'s
``weight_decay``). Options belong to their owner: another scheme may declare a ``gamma`` of its own,
with another default and check (:mod:`optimizers.registry` completes a config with the defaults of the
owners of the optimizer it names).

The constructor checks every value, given or default, as ``torch.optim``'s optimizers do: a bad value
raises one :class:`~ali_opt.errors.ConfigError` line naming the option,
``gamma=-1 is not valid; it must be a number >= 0``; an unknown keyword raises TypeError listing the
owner's options.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

from ali_opt.errors import ConfigError

REQUIRED = object()
"""The default of an option that has none: the constructor must be given it."""


class Option:
    """One option of its owner: its default, the check its value must pass, and what it is.

    ``check(key, value)`` returns the value, normalised (a list of betas becomes a tuple, ``"auto"``
    None), or raises a one-line :class:`~ali_opt.errors.ConfigError` naming ``key``. With ``per_player``
    a value may also be ``{player: value}``, one for each player, each checked alone.
    """

    def __init__(self, default: Any, check: Callable[[str, Any], Any], doc: str, *, per_player: bool = False):
        self.default = default
        self.check = check
        self.doc = doc
        self.per_player = per_player

    def parse(self, key: str, value, players: Sequence[str] | None = None):
        """``value`` as :attr:`check` returns it, or the one-line ConfigError naming ``key``. Given
        ``players``, an option taken per player may be ``{player: value}`` for exactly those players
        (returned as a dict of checked values)."""
        if self.per_player and players is not None and isinstance(value, Mapping):
            if set(value) != set(players):
                raise ConfigError(f"{key}={dict(value)!r} is not valid; give one number, or one per player: "
                                  f"{', '.join(players)}")
            return {player: self.check(f"{key}.{player}", player_value) for player, player_value in value.items()}
        return self.check(key, value)

    def __repr__(self) -> str:
        return f"Option({self.default!r}, {getattr(self.check, '__name__', self.check)!r}, {self.doc!r})"


@cache
def options_of(owner: type) -> dict[str, Option]:
    """``owner``'s options by name, its bases' first (in the order they are declared)."""
    options: dict[str, Option] = {}
    for cls in reversed(owner.__mro__):
        options.update({name: value for name, value in vars(cls).items() if isinstance(value, Option)})
    return options


class OptionOwner:
    """The base of what declares options (rules, schemes, wrappers): it takes them in its constructor."""

    def _take_options(self, given: Mapping[str, Any], players: Sequence[str] | None = None) -> None:
        """Set each declared option as an attribute: its value in ``given`` or its default, checked
        (``players``: see :meth:`Option.parse`)."""
        declared = options_of(type(self))
        unknown = [name for name in given if name not in declared]
        if unknown:
            raise TypeError(f"{type(self).__name__} takes no option {unknown[0]!r}; its options: "
                            f"{', '.join(declared) or 'none'}")
        for name, option in declared.items():
            value = given.get(name, option.default)
            if value is REQUIRED:
                raise TypeError(f"{type(self).__name__} needs option {name!r}")
            setattr(self, name, option.parse(name, value, players))

    def option_values(self) -> dict[str, Any]:
        """The value of each of this owner's options."""
        return {name: getattr(self, name) for name in options_of(type(self))}

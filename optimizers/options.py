"""Options owned by their users: each rule, scheme and wrapper declares and checks its own.

An owner (a rule, a :class:`~optimizers.base.GameOptimizer` subclass, a wrapper) lists its options in
the class attribute ``options``: the option's name (its config key, and the name of the constructor's
keyword argument or the dataclass field that takes it) and an :class:`Option`, the check its value must
pass. A scheme's options include its bases'. The default is the constructor's, written once there
(:func:`defaults_of` reads it).

The constructor checks what it is given, as ``torch.optim``'s optimizers do: a bad value raises one
:class:`~ali_opt.errors.ConfigError` naming the option, ``gamma=-1 is not valid; it must be a number >= 0``.
:mod:`optimizers.registry` gathers every owner's options and defaults into ``DEFAULTS`` and runs the
same checks on a whole config, naming the key (``optimizer.gamma=-1 ...``); it then builds under
:func:`prechecked`, so that no value is checked twice.
"""
from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any

from ali_opt.errors import ConfigError

Check = Callable[[str, Any], Any]
"""``check(key, value)`` returns ``value`` (normalised: a list of betas becomes a tuple, ``"auto"`` None) or
raises a one-line :class:`~ali_opt.errors.ConfigError` naming ``key``."""

NO_DEFAULT = inspect.Parameter.empty
"""What :func:`defaults_of` gives for an option its owner takes without a default (a rule's ``lr``)."""


@dataclass(frozen=True)
class Option:
    """How one option is checked, and what it is."""

    check: Check
    doc: str = ""
    per_player: bool = False
    """Whether a config may give one value per player, ``{player: value}``, each checked alone."""


def check_bool(key: str, value) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}={value!r} is not valid; it must be true or false")
    return value


def check_option(option: Option, key: str, value, players: Sequence[str] | None = None):
    """``value`` as ``option``'s check returns it. With ``players``, an option taken per player may also be
    ``{player: value}`` for exactly those players (returned as a dict of checked values)."""
    if option.per_player and players is not None and isinstance(value, Mapping):
        if set(value) != set(players):
            raise ConfigError(f"{key}={dict(value)!r} is not valid; give one number, or one per player: "
                              f"{', '.join(players)}")
        return {player: option.check(f"{key}.{player}", player_value) for player, player_value in value.items()}
    return option.check(key, value)


@cache
def options_of(owner: type) -> dict[str, Option]:
    """``owner``'s options with its bases' (bases first)."""
    options: dict[str, Option] = {}
    for cls in reversed(owner.__mro__):
        options.update(vars(cls).get("options", {}))
    return options


@cache
def defaults_of(owner: type) -> dict[str, Any]:
    """The default of each of ``owner``'s options: its dataclass field's, or its (and its bases')
    ``__init__``'s keyword-only argument's; :data:`NO_DEFAULT` where there is none.

    Raises TypeError when the options are not exactly those fields or keyword-only arguments.
    """
    if dataclasses.is_dataclass(owner):
        found = {field.name: NO_DEFAULT if field.default is dataclasses.MISSING else field.default
                 for field in dataclasses.fields(owner)}
    else:
        found = {}
        for cls in reversed(owner.__mro__):
            if cls is not object and "__init__" in vars(cls):
                found.update({parameter.name: parameter.default
                              for parameter in inspect.signature(cls.__init__).parameters.values()
                              if parameter.kind is parameter.KEYWORD_ONLY})
    declared = options_of(owner)
    if set(found) != set(declared):
        raise TypeError(f"{owner.__name__} declares options {sorted(declared)} but takes {sorted(found)}; "
                        "each option must be a keyword-only argument (or dataclass field) and the other way round")
    return {name: found[name] for name in declared}


_PRECHECKED: ContextVar[bool] = ContextVar("optimizer_options_prechecked", default=False)


@contextmanager
def prechecked() -> Iterator[None]:
    """Construct without checking options: for the registry, which has checked the whole config."""
    token = _PRECHECKED.set(True)
    try:
        yield
    finally:
        _PRECHECKED.reset(token)


def checked(owner, name: str, value, players: Sequence[str] | None = None):
    """``value`` of option ``name`` of ``owner`` (an instance), as the option's check returns it; as given
    under :func:`prechecked`. ``players``: see :func:`check_option`."""
    if _PRECHECKED.get():
        return value
    return check_option(options_of(type(owner))[name], name, value, players)


def check_fields(rule) -> None:
    """Check the option fields of ``rule``, a frozen dataclass (call it from ``__post_init__``); a check's
    normalised value replaces the field's."""
    if _PRECHECKED.get():
        return
    for name in options_of(type(rule)):
        value = getattr(rule, name)
        found = checked(rule, name, value)
        if found is not value:
            object.__setattr__(rule, name, found)

"""The game optimizers by name: a scheme composed with a per-player rule, built from a config.

Adding an optimizer is one line in ``OPTIMIZERS`` (and, for a new scheme, one new file). Each rule,
scheme and wrapper declares and checks its own options (:mod:`optimizers.options`); this module
gathers them into ``DEFAULTS`` and checks a whole config with their checks.
"""
from __future__ import annotations

import copy
import json

from collections.abc import Mapping
from functools import partial

import torch

from ali_opt.errors import ConfigError, check_choice
from ali_opt.game import Game

from .acgd import ACGDStepSizes, AdaptiveCompetitiveGradientDescent
from .alternating import Alternating
from .averaging import AVERAGING, Averaged
from .base import GameOptimizer
from .cgd import CompetitiveGradientDescent
from .consensus import Consensus
from .extragradient import Extragradient
from .lookahead import Lookahead
from .optimistic import Optimistic
from .options import NO_DEFAULT, Option, check_option, defaults_of, options_of, prechecked
from .past_extragradient import PastExtragradient
from .rules import SGD, Adam
from .sga import SymplecticGradientAdjustment
from .simultaneous import Simultaneous

__all__ = ["AVERAGING", "DEFAULTS", "OPTIMIZERS", "OPTIONS", "WRAPPERS", "CheckedConfig", "build_optimizer",
           "validate_config"]

OPTIMIZERS = {
    "gda": (Simultaneous, SGD),
    "adam": (Simultaneous, Adam),
    "alt_gda": (Alternating, SGD),
    "alt_adam": (Alternating, Adam),
    "extragradient": (Extragradient, SGD),
    "extra_adam": (Extragradient, Adam),
    "past_extragradient": (PastExtragradient, SGD),
    "past_extra_adam": (PastExtragradient, Adam),
    "optimistic": (Optimistic, SGD),
    "optimistic_adam": (Optimistic, Adam),
    "consensus": (Consensus, SGD),
    "consensus_adam": (Consensus, Adam),
    "sga": (SymplecticGradientAdjustment, SGD),
    "sga_adam": (SymplecticGradientAdjustment, Adam),
    "cgd": (CompetitiveGradientDescent, SGD),
    "acgd": (AdaptiveCompetitiveGradientDescent, ACGDStepSizes),
}

WRAPPERS = (Lookahead, Averaged)
"""Wrap any scheme, innermost first, when their options turn them on (see :func:`build_optimizer`)."""

_NAME = Option(partial(check_choice, choices=tuple(OPTIMIZERS)), "the optimizer: a key of OPTIMIZERS")
_DEFAULTS_NO_OWNER_GIVES = {"name": "adam", "lr": 1e-4}
"""The optimizer's name, and the step size: every rule takes one, none has a default."""
_LISTED_FIRST = (Adam, SGD, Alternating, Optimistic, Averaged)
"""Owners whose options come first in ``DEFAULTS``, so that its keys keep the order they have always had
(:data:`ali_opt.config.DISTINGUISHING_KEYS`, and so run labels, list them in that order); the other
owners follow in ``OPTIMIZERS`` order (scheme, then rule), then ``WRAPPERS``."""


def _gather() -> tuple[dict[str, Option], dict]:
    """Every option of every rule, scheme and wrapper, and its default; an option that several owners
    take must be one :class:`Option` with one default."""
    owners = dict.fromkeys([*_LISTED_FIRST, *(cls for pair in OPTIMIZERS.values() for cls in pair), *WRAPPERS])
    options, defaults = {"name": _NAME}, dict(_DEFAULTS_NO_OWNER_GIVES)
    for owner in owners:
        for name, default in defaults_of(owner).items():
            option = options_of(owner)[name]
            if options.setdefault(name, option) is not option:
                raise TypeError(f"{owner.__name__} and another owner declare option {name!r} differently")
            if default is not NO_DEFAULT and defaults.setdefault(name, default) != default:
                raise TypeError(f"{owner.__name__} defaults option {name!r} to {default!r}, another owner to "
                                f"{defaults[name]!r}")
    missing = [name for name in options if name not in defaults]
    if missing:
        raise TypeError(f"no default for options {missing}")
    return options, {name: defaults[name] for name in options}


OPTIONS, DEFAULTS = _gather()
"""``OPTIONS``: how each key of an optimizer config is checked and what it is (``OPTIONS[key].doc``).
``DEFAULTS``: every key an optimizer config may hold, with its default; each optimizer uses the keys that
apply to it. Both gathered from the rules, schemes and wrappers that own the options."""


_IN_WORDS = {1: "one", 2: "two", 3: "three"}


class CheckedConfig(dict):
    """What :func:`validate_config` returns: a complete optimizer config, checked for a game with ``players``.

    :func:`build_optimizer` builds it for a game with those players without checking it again. It cannot be
    changed in place; a changed copy (``{**config, "lr": 0.1}``) is a plain dict, checked again.
    """

    def __init__(self, config: Mapping, players: tuple[str, ...]):
        super().__init__(config)
        self.players = tuple(players)

    def _refuse(self, *args, **kwargs):
        raise TypeError("a checked optimizer config cannot be changed; change a copy ({**config, key: value}), "
                        "which is checked again")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        return type(self), (dict(self), self.players)


_CHECKED: dict[tuple[str, tuple[str, ...], str], CheckedConfig] = {}
"""The configs this process has checked, by content: a cell's config is checked once per
process (its config hook), and its later uses (building, the FLOPs cache key) find it here."""


def validate_config(config: Mapping, players: tuple[str, ...], key: str = "optimizer") -> CheckedConfig:
    """``config`` completed with ``DEFAULTS`` and checked by the options' owners for a game with
    ``players``; raises :class:`ConfigError` naming the first bad key (prefixed by ``key``).

    A config already checked in this process (same content, players and key) is not checked
    again: a copy of the earlier result is returned."""
    if isinstance(config, CheckedConfig) and config.players == tuple(players):
        return config
    try:
        content = (json.dumps(config, sort_keys=True), tuple(players), key)
    except TypeError:  # not JSON (a tensor of per-member step sizes): checked every time
        content = None
    if content in _CHECKED:
        return copy.deepcopy(_CHECKED[content])
    checked = _validate(config, players, key)
    if content is not None:
        _CHECKED[content] = checked
    return copy.deepcopy(checked)


def _validate(config: Mapping, players: tuple[str, ...], key: str) -> CheckedConfig:
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]} is not an optimizer option; valid options: {', '.join(DEFAULTS)}")
    config = {**DEFAULTS, **config}
    checked = {name: check_option(option, f"{key}.{name}", config[name], players) for name, option in OPTIONS.items()}
    name = checked["name"]
    count = OPTIMIZERS[name][0].player_count
    if count is not None and len(players) != count:
        raise ConfigError(f"{key}.name={name!r} is not valid for a game with players {list(players)}; "
                          f"{name} needs {_IN_WORDS.get(count, count)} players")
    return CheckedConfig(checked, players)


def build_optimizer(game: Game, config: Mapping, key: str = "optimizer") -> GameOptimizer | Lookahead | Averaged:
    """The optimizer ``config["name"]`` for ``game``; missing keys take ``DEFAULTS``.

    ``config`` is checked once, by :func:`validate_config` (a :class:`CheckedConfig` for ``game``'s players
    is not checked again), which raises :class:`ConfigError` naming the key (prefixed by ``key``) for any
    bad value; the rules, scheme and wrappers are then built without checking their options again.
    """
    players = tuple(game.players)
    if not (isinstance(config, CheckedConfig) and config.players == players):
        config = validate_config(config, players, key)
    scheme, rule = OPTIMIZERS[config["name"]]
    with prechecked():
        rules = {player: rule(**{name: _for_player(config[name], player, name) for name in options_of(rule)})
                 for player in players}
        optimizer = scheme(game, rules, **{name: config[name] for name in options_of(scheme)})
        for wrapper in WRAPPERS:
            wrapper_options = {name: config[name] for name in options_of(wrapper)}
            if wrapper.turned_on(wrapper_options):
                optimizer = wrapper(optimizer, **wrapper_options)
    return optimizer


def _for_player(value, player: str, name: str):
    """A player's value of option ``name``; a list of per-member step sizes becomes a float64 tensor."""
    value = value[player] if isinstance(value, Mapping) else value
    if name == "lr" and isinstance(value, (list, tuple, torch.Tensor)):
        return torch.as_tensor(value, dtype=torch.float64)
    return value

"""The game optimizers by name: a scheme composed with a per-player rule, built from a config.

An optimizer config is one flat dict: ``name`` (a key of :data:`OPTIMIZERS`) and options. The options
of optimizer ``name`` are those its rule, its scheme and the wrappers (:data:`WRAPPERS`) declare
(:mod:`optimizers.options`), with their owners' defaults: :func:`options_for` and :func:`defaults_for`.
A config may also hold the options of other optimizers (a run's config holds every key of
:data:`DEFAULTS`): they are checked and left out of the optimizer.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

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
from .options import Option, options_of
from .past_extragradient import PastExtragradient
from .rules import SGD, Adam
from .sga import SymplecticGradientAdjustment
from .simultaneous import Simultaneous

__all__ = ["AVERAGING", "DEFAULTS", "OPTIMIZERS", "OWN_DEFAULT", "WRAPPERS", "build_optimizer", "defaults_for",
           "options_for", "validate_config"]

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
"""Each optimizer's name, scheme and rule. Adding an optimizer is one line here."""

WRAPPERS = (Lookahead, Averaged)
"""Wrap any scheme, innermost first, when their options turn them on (see :func:`build_optimizer`)."""

DEFAULT_NAME = "adam"
"""The optimizer of a config that names none."""

OWN_DEFAULT = "default"
"""The value of an option that stands for its owner's default in the optimizer the config names.
:data:`DEFAULTS` holds it for an option that owners default differently."""


def owners_of(name: str) -> tuple[type, ...]:
    """What optimizer ``name`` is built from, in the order its options are listed: rule, scheme, wrappers."""
    scheme, rule = OPTIMIZERS[name]
    return (rule, scheme, *WRAPPERS)


def options_for(name: str) -> dict[str, Option]:
    """The options of optimizer ``name``: its rule's, its scheme's and the wrappers'. Raises TypeError
    when two of them declare one name differently (the config could not tell them apart)."""
    options: dict[str, Option] = {}
    for owner in owners_of(name):
        for key, option in options_of(owner).items():
            if options.setdefault(key, option) is not option:
                raise TypeError(f"optimizer {name!r}: {owner.__name__} and another of its parts declare option {key!r} "
                                "differently; give one of them another name")
    return options


def defaults_for(name: str) -> dict:
    """The complete config of optimizer ``name``: its name, and each of its options with its owner's default."""
    return {"name": name, **{key: option.default for key, option in options_for(name).items()}}


def every_option() -> dict[str, list[Option]]:
    """Each option name any optimizer takes, with its declarations (one per owner that declares it
    differently): the rules' first, then the schemes', then the wrappers', in :data:`OPTIMIZERS` order."""
    rules = dict.fromkeys(rule for _, rule in OPTIMIZERS.values())
    schemes = dict.fromkeys(scheme for scheme, _ in OPTIMIZERS.values())
    declared: dict[str, list[Option]] = {}
    for owner in (*rules, *schemes, *WRAPPERS):
        for key, option in options_of(owner).items():
            if option not in declared.setdefault(key, []):
                declared[key].append(option)
    return declared


def every_default() -> dict:
    """Every key an optimizer config may hold, with its default: :data:`OWN_DEFAULT` where owners
    default one name differently (each optimizer then takes its own owner's)."""
    defaults = {"name": DEFAULT_NAME}
    for key, options in every_option().items():
        values = [option.default for option in options]
        defaults[key] = values[0] if all(_same(value, values[0]) for value in values) else OWN_DEFAULT
    return defaults


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


DEFAULTS = every_default()
"""Every key an optimizer config may hold, with its default; each optimizer uses the keys it takes
(:func:`options_for`). A run's config starts from it."""


_IN_WORDS = {1: "one", 2: "two", 3: "three"}


def validate_config(config: Mapping, players: Sequence[str], key: str = "optimizer") -> dict:
    """The complete config of the optimizer ``config`` names, for a game with ``players``: each of its
    options as given, else its owner's default, checked by its owner (normalised: betas a tuple,
    ``"auto"`` None). The keys of other optimizers' options are checked too, and left out. Raises one
    :class:`ConfigError` line naming the first bad key (prefixed by ``key``) and what is valid."""
    declared = every_option()
    unknown = sorted(set(config) - {"name"} - set(declared))
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]} is not an optimizer option; valid options: name, {', '.join(declared)}")
    name = check_choice(f"{key}.name", config.get("name", DEFAULT_NAME), OPTIMIZERS)
    players = tuple(players)
    count = OPTIMIZERS[name][0].player_count
    if count is not None and len(players) != count:
        raise ConfigError(f"{key}.name={name!r} is not valid for a game with players {list(players)}; "
                          f"{name} needs {_IN_WORDS.get(count, count)} players")
    own = options_for(name)
    for option_key in declared:
        if option_key in config and option_key not in own and not _is_own_default(config[option_key]):
            _parse_by_any(declared[option_key], f"{key}.{option_key}", config[option_key], players)
    checked = {"name": name}
    for option_key, option in own.items():
        value = config.get(option_key, OWN_DEFAULT)
        value = option.default if _is_own_default(value) else value
        checked[option_key] = option.parse(f"{key}.{option_key}", value, players)
    return checked


def _is_own_default(value) -> bool:
    return isinstance(value, str) and value == OWN_DEFAULT


def _parse_by_any(options: list[Option], key: str, value, players: tuple[str, ...]) -> None:
    """Raise the first declaration's ConfigError unless ``value`` is valid for one of ``options``."""
    errors = []
    for option in options:
        try:
            option.parse(key, value, players)
            return
        except ConfigError as error:
            errors.append(error)
    raise errors[0]


def build_optimizer(game: Game, config: Mapping, key: str = "optimizer") -> GameOptimizer | Lookahead | Averaged:
    """The optimizer ``config["name"]`` for ``game``, its options as :func:`validate_config` completes
    and checks them (a bad value raises :class:`ConfigError` naming the key, prefixed by ``key``); a
    wrapper is applied when its options turn it on."""
    config = validate_config(config, game.players, key)
    scheme, rule = OPTIMIZERS[config["name"]]
    rules = {player: rule(**{name: _for_player(config[name], player, name) for name in options_of(rule)})
             for player in game.players}
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

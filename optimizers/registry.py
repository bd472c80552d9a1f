"""The game optimizers by name: a scheme composed with a per-player rule, built from a config.

Adding an optimizer is one line in ``OPTIMIZERS`` (and, for a new scheme, one new file).
"""
from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping

import torch

from ali_opt.errors import (ConfigError, check_choice, check_count_or_auto, check_fraction, check_nonnegative,
                            check_positive, check_real)
from ali_opt.game import Game

from .acgd import ACGDStepSizes, AdaptiveCompetitiveGradientDescent
from .alternating import Alternating
from .averaging import Averaged
from .base import GameOptimizer
from .cgd import SOLVE_FOR, CompetitiveGradientDescent
from .consensus import Consensus
from .extragradient import Extragradient
from .lookahead import Lookahead
from .optimistic import FIRST_STEPS, Optimistic
from .past_extragradient import PastExtragradient
from .rules import SGD, Adam
from .sga import ALIGN_NORMS, SymplecticGradientAdjustment
from .simultaneous import Simultaneous

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

AVERAGING = ("none", "uniform", "ema")

DEFAULTS = {
    "name": "adam",
    "lr": 1e-4,  # a number, or {player: number} for per-player (two time-scale) rates; ensembles: a list per member
    "betas": (0.9, 0.999),  # Adam rules only
    "eps": 1e-8,  # Adam rules only
    "momentum": 0.0,  # SGD rules only
    "weight_decay": 0.0,
    "d_steps": 1,  # alternating schemes only: steps of the first (discriminator-side) player
    "resample": True,  # extragradient and alternating: fresh batch for each later evaluation
    "first_step": "double",  # optimistic only: "double" (2 u_0, Daskalakis et al.) or "single" (u_0)
    "average": "none",  # iterate averaging: none, uniform or ema
    "ema_beta": 0.999,
    "gamma": 10.0,  # consensus: weight of the gradient of 1/2 |field|^2 (the authors' run.py default)
    "sga_lambda": 1.0,  # sga: weight of the antisymmetric adjustment (its magnitude when sga_align)
    "sga_align": True,  # sga: the paper's sign rule for sga_lambda; false keeps sga_lambda as given
    "sga_align_norm": "tensors",  # sga_align divides by the number of tensors (DeepMind's code) or "scalars"
    "cgd_tol": 1e-6,  # cgd, acgd: the linear solve stops at this residual relative to the right-hand side's ...
    "cgd_atol": 1e-10,  # ... or at this absolute residual ...
    "cgd_max_iter": None,  # ... or after this many iterations (None: as many as unknowns, as the authors)
    "cgd_solve_for": "alternate",  # cgd, acgd: whose part is solved for: alternate (the authors'), first, second
    "acgd_beta": 0.99,  # acgd: decay of the second-moment estimates
    "acgd_eps": 1e-5,  # acgd: added to their square roots
    "lookahead_k": 0,  # lookahead over any scheme: synchronise every k steps (0: off)
    "lookahead_alpha": 0.5,  # lookahead: fraction of the way from the slow weights to the fast ones
}
"""Every key an optimizer config may hold; each optimizer uses the keys that apply to it."""

_PER_PLAYER_CHECKS = {
    "lr": check_positive,
    "eps": check_positive,
    "momentum": check_fraction,
    "weight_decay": check_nonnegative,
}


def build_optimizer(game: Game, config: Mapping, key: str = "optimizer") -> GameOptimizer | Lookahead | Averaged:
    """The optimizer ``config["name"]`` for ``game``; missing keys take ``DEFAULTS``.

    Raises :class:`ConfigError` naming the key (prefixed by ``key``) for any bad value.
    """
    config = validate_config(config, game.players, key)
    scheme, rule = OPTIMIZERS[config["name"]]
    rule_keys = [field.name for field in dataclasses.fields(rule)]
    rules = {player: rule(**{k: _for_player(config[k], player, k) for k in rule_keys}) for player in game.players}
    scheme_keys = {p.name for cls in scheme.__mro__ if issubclass(cls, GameOptimizer)  # a scheme's and its bases'
                   for p in inspect.signature(cls.__init__).parameters.values() if p.kind is p.KEYWORD_ONLY}
    optimizer = scheme(game, rules, **{k: config[k] for k in scheme_keys})
    if config["lookahead_k"]:
        optimizer = Lookahead(optimizer, config["lookahead_k"], config["lookahead_alpha"])
    if config["average"] == "none":
        return optimizer
    return Averaged(optimizer, config["average"], config["ema_beta"])


def validate_config(config: Mapping, players: tuple[str, ...], key: str = "optimizer") -> dict:
    """``config`` completed with ``DEFAULTS`` and checked; raises :class:`ConfigError` on the first bad key."""
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]} is not an optimizer option; valid options: {', '.join(DEFAULTS)}")
    config = {**DEFAULTS, **config}
    check_choice(f"{key}.name", config["name"], OPTIMIZERS)
    for name, check in _PER_PLAYER_CHECKS.items():
        value = config[name]
        if isinstance(value, Mapping):
            if set(value) != set(players):
                raise ConfigError(
                    f"{key}.{name}={dict(value)!r} is not valid; give one number, or one per player: {', '.join(players)}"
                )
            for player, player_value in value.items():
                _check_value(check, name, f"{key}.{name}.{player}", player_value)
        else:
            _check_value(check, name, f"{key}.{name}", value)
    betas = config["betas"]
    if not isinstance(betas, (list, tuple)) or len(betas) != 2:
        raise ConfigError(f"{key}.betas={betas!r} is not valid; it must be a pair [beta1, beta2], each in [0, 1)")
    for index, beta in enumerate(betas):
        check_fraction(f"{key}.betas[{index}]", beta)
    config["betas"] = tuple(betas)
    check_positive(f"{key}.d_steps", config["d_steps"], integer=True)
    check_choice(f"{key}.first_step", config["first_step"], FIRST_STEPS)
    check_choice(f"{key}.average", config["average"], AVERAGING)
    check_fraction(f"{key}.ema_beta", config["ema_beta"], closed_low=False)
    check_nonnegative(f"{key}.gamma", config["gamma"])
    check_real(f"{key}.sga_lambda", config["sga_lambda"])
    for name in ("resample", "sga_align"):
        if not isinstance(config[name], bool):
            raise ConfigError(f"{key}.{name}={config[name]!r} is not valid; it must be true or false")
    check_choice(f"{key}.sga_align_norm", config["sga_align_norm"], ALIGN_NORMS)
    check_positive(f"{key}.cgd_tol", config["cgd_tol"])
    check_nonnegative(f"{key}.cgd_atol", config["cgd_atol"])
    config["cgd_max_iter"] = check_count_or_auto(f"{key}.cgd_max_iter", config["cgd_max_iter"],
                                                 "as many iterations as unknowns")
    check_choice(f"{key}.cgd_solve_for", config["cgd_solve_for"], SOLVE_FOR)
    check_fraction(f"{key}.acgd_beta", config["acgd_beta"])
    check_positive(f"{key}.acgd_eps", config["acgd_eps"])
    k = config["lookahead_k"]
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ConfigError(f"{key}.lookahead_k={k!r} is not valid; it must be 0 (off) or a positive integer")
    check_fraction(f"{key}.lookahead_alpha", config["lookahead_alpha"], closed_low=False)
    if config["name"] in ("cgd", "acgd") and len(players) != 2:
        raise ConfigError(f"{key}.name={config['name']!r} is not valid for a game with players {list(players)}; "
                          f"{config['name']} needs two players")
    return config


def _check_value(check, name: str, key: str, value) -> None:
    """Check one number, or for ``lr`` a list (or 1-D tensor) of one step size per ensemble member."""
    if name == "lr" and isinstance(value, (list, tuple, torch.Tensor)):
        values = value.tolist() if isinstance(value, torch.Tensor) else value
        if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise ConfigError(f"{key}={value!r} is not valid; give a number, or a non-empty list of numbers (one per "
                              "ensemble member)")
        for index, member_value in enumerate(values):
            check(f"{key}[{index}]", member_value)
        return
    check(key, value)


def _for_player(value, player: str, name: str):
    """A player's value of option ``name``; a list of per-member step sizes becomes a float64 tensor."""
    value = value[player] if isinstance(value, Mapping) else value
    if name == "lr" and isinstance(value, (list, tuple, torch.Tensor)):
        return torch.as_tensor(value, dtype=torch.float64)
    return value

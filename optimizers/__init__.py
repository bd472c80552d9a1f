"""Pluggable game optimizers: a scheme (how players' steps are combined) times a per-player rule.

Every optimizer has a name, such as ``extra_adam`` (the extragradient scheme, ``extragradient.py``,
with the Adam rule, ``rules/adam.py``): :data:`OPTIMIZERS` in ``registry.py`` lists them.
``lookahead.py`` wraps any of them with lookahead-minmax and ``averaging.py`` with iterate averaging;
``field.py`` gives the second-order schemes the joint gradient field and its Jacobian products.
Optimizers see only a :class:`ali_opt.game.Game`: each player's parameters and losses.

Each rule, scheme and wrapper declares its own options, each once, with its default and check
(``options.py``); ``registry.py`` builds an optimizer from a flat config and checks the config with
those declarations.
"""
from .averaging import Averaged
from .base import GameOptimizer, StepReport
from .lookahead import Lookahead
from .registry import DEFAULTS, OPTIMIZERS, build_optimizer, defaults_for, options_for, validate_config

__all__ = ["Averaged", "DEFAULTS", "GameOptimizer", "Lookahead", "OPTIMIZERS", "StepReport", "build_optimizer",
           "defaults_for", "options_for", "validate_config"]

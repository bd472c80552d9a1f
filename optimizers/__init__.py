"""Pluggable game optimizers: a scheme (how players' steps are combined) times a per-player rule.

| scheme file              | SGD rule             | Adam rule          |
| ------------------------ | -------------------- | ------------------ |
| ``simultaneous.py``      | ``gda``              | ``adam``           |
| ``alternating.py``       | ``alt_gda``          | ``alt_adam``       |
| ``extragradient.py``     | ``extragradient``    | ``extra_adam``     |
| ``past_extragradient.py``| ``past_extragradient``| ``past_extra_adam``|
| ``optimistic.py``        | ``optimistic``       | ``optimistic_adam``|

``averaging.py`` wraps any of them with iterate averaging. Optimizers see only a
:class:`ali_opt.game.Game`: each player's parameters and losses.
"""
from .averaging import Averaged
from .base import GameOptimizer, StepReport
from .registry import DEFAULTS, OPTIMIZERS, build_optimizer, validate_config

__all__ = ["Averaged", "DEFAULTS", "GameOptimizer", "OPTIMIZERS", "StepReport", "build_optimizer", "validate_config"]

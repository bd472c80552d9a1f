"""Pluggable game optimizers: a scheme (how players' steps are combined) times a per-player rule.

| scheme file              | SGD rule             | Adam rule          |
| ------------------------ | -------------------- | ------------------ |
| ``simultaneous.py``      | ``gda``              | ``adam``           |
| ``alternating.py``       | ``alt_gda``          | ``alt_adam``       |
| ``extragradient.py``     | ``extragradient``    | ``extra_adam``     |
| ``past_extragradient.py``| ``past_extragradient``| ``past_extra_adam``|
| ``optimistic.py``        | ``optimistic``       | ``optimistic_adam``|
| ``consensus.py``         | ``consensus``        | ``consensus_adam`` |
| ``sga.py``               | ``sga``              | ``sga_adam``       |
| ``cgd.py``               | ``cgd``              |                    |

``acgd.py`` builds ``acgd`` on ``cgd.py``: CGD with its own Adam-like step sizes (ACGD).

``lookahead.py`` wraps any of them with lookahead-minmax and ``averaging.py`` with iterate
averaging; ``field.py`` gives the second-order schemes the joint gradient field and its
Jacobian products. Optimizers see only a
:class:`ali_opt.game.Game`: each player's parameters and losses.

Each rule, scheme and wrapper declares and checks its own options (``options.py``), as
``torch.optim``'s optimizers do; ``registry.py`` gathers them into ``DEFAULTS`` and checks a config.
"""
from .averaging import Averaged
from .base import GameOptimizer, StepReport
from .lookahead import Lookahead
from .registry import DEFAULTS, OPTIMIZERS, build_optimizer, validate_config

__all__ = ["Averaged", "DEFAULTS", "GameOptimizer", "Lookahead", "OPTIMIZERS", "StepReport", "build_optimizer", "validate_config"]

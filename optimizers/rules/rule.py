"""What every per-player update rule is: options, a state, and the step it makes of a gradient."""
from __future__ import annotations

import torch

from ..options import OptionOwner


class Rule(OptionOwner):
    """A per-player update rule. Its options are :class:`~optimizers.options.Option` class attributes,
    taken by keyword (``Adam(lr=1e-3, betas=(0.5, 0.999))``) and checked.

    ``init(params)`` gives the rule's state for a player's parameters: a dict of tensors and numbers,
    so that it can be saved with ``torch.save`` and loaded with ``weights_only=True``.
    ``direction(grads, state, params)`` returns the step to add to the parameters and advances the state.
    """

    def __init__(self, **options):
        self._take_options(options)

    def init(self, params: list[torch.Tensor]) -> dict:
        raise NotImplementedError

    def direction(self, grads: list[torch.Tensor], state: dict, params: list[torch.Tensor]) -> list[torch.Tensor]:
        raise NotImplementedError

    def replace(self, **changes) -> Rule:
        """A rule of the same kind with ``changes`` to its options."""
        return type(self)(**{**self.option_values(), **changes})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{name}={value!r}' for name, value in self.option_values().items())})"

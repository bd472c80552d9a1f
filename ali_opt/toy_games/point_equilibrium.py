"""Games whose equilibrium is one known point in parameter space."""
from __future__ import annotations

import torch

from ali_opt.game import Game


class PointEquilibriumGame(Game):
    """A game with a known equilibrium point; subclasses implement :meth:`equilibrium`."""

    def equilibrium(self) -> dict[str, torch.Tensor]:
        """The equilibrium value of every parameter, by its name in ``named_parameters()``."""
        raise NotImplementedError

    @torch.no_grad()
    def distance_to_equilibrium(self) -> float:
        r"""The Euclidean distance :math:`\|\theta - \theta^*\|` over all parameters together."""
        target = self.equilibrium()
        return torch.cat([(p - target[name]).flatten() for name, p in self.named_parameters()]).norm().item()

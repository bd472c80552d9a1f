r"""A strongly monotone game: the bilinear game plus :math:`\tfrac{\mu}{2}(|x - x^*|^2 - |y - y^*|^2)`."""
from __future__ import annotations

import torch

from ali_opt.errors import check_positive

from .bilinear import BilinearGame
from .options import option_key


class QuadraticGame(BilinearGame):
    r"""Player ``x`` minimises and player ``y`` maximises

    .. math:: f(x, y) = (x - x^*)^\top A (y - y^*) + \tfrac{\mu}{2}\big(|x - x^*|^2 - |y - y^*|^2\big),

    :math:`\mu`-strongly convex in :math:`x` and strongly concave in :math:`y`, with :math:`A`,
    :math:`x^*, y^*` and the start as in :class:`BilinearGame`. The field
    :math:`(\mu \bar x + A\bar y,\; \mu \bar y - A^\top \bar x)` is :math:`\mu`-strongly monotone,
    so every scheme with a small enough step converges linearly; in one dimension
    (:math:`A = a = \pm 1`) simultaneous gradient descent-ascent with step :math:`\eta` contracts
    the distance by exactly :math:`\sqrt{(1 - \eta\mu)^2 + \eta^2}` per step.
    """

    zero_sum = True  # the losses are -f and f

    def __init__(self, *, dim: int = 4, seed: int = 0, mu: float = 0.5, dtype: str = "float64"):
        check_positive(option_key("mu"), mu)
        super().__init__(dim=dim, seed=seed, dtype=dtype)
        self.mu = mu

    def value(self) -> torch.Tensor:
        x_offset, y_offset = self.x - self.x_star, self.y - self.y_star
        return super().value() + self.mu / 2 * (x_offset @ x_offset - y_offset @ y_offset)

r"""The bilinear game :math:`\min_x \max_y (x - x^*)^\top A (y - y^*)`."""
from __future__ import annotations

import torch
from torch import nn

from ali_opt.errors import check_positive
from ali_opt.game import GameOutput

from .options import dtype_option, option_key, seed_option
from .point_equilibrium import PointEquilibriumGame


class BilinearGame(PointEquilibriumGame):
    r"""Player ``x`` minimises and player ``y`` maximises :math:`f(x, y) = (x - x^*)^\top A (y - y^*)`.

    :math:`A = U \operatorname{diag}(s) V^\top` with :math:`U, V` orthogonal (QR factors of
    Gaussian matrices) and singular values :math:`s` evenly spaced in :math:`[1, 2]`, so
    the condition number is 2 (:math:`s = (1)` when ``dim`` is 1, making :math:`A = \pm 1`).
    :math:`A`, :math:`x^*, y^* \sim N(0, I)` come from ``seed``; play starts at
    :math:`x = y = 0`. The unique equilibrium is :math:`(x^*, y^*)`, and in the coordinates
    centred there the field :math:`(A\bar y, -A^\top \bar x)` is a rotation in each singular
    plane, so simultaneous gradient descent-ascent spirals out and extragradient spirals in.
    """

    players = ("y", "x")
    zero_sum = True  # the losses are -f and f (also for QuadraticGame, which changes f only)

    def __init__(self, *, dim: int = 4, seed: int = 0, dtype: str = "float64"):
        super().__init__()
        check_positive(option_key("dim"), dim, integer=True)
        generator = torch.Generator().manual_seed(seed_option(seed))
        dtype = dtype_option(dtype)
        left, _ = torch.linalg.qr(torch.randn(dim, dim, generator=generator, dtype=torch.float64))
        right, _ = torch.linalg.qr(torch.randn(dim, dim, generator=generator, dtype=torch.float64))
        singular_values = torch.linspace(1.0, 2.0, dim, dtype=torch.float64)
        self.register_buffer("matrix", (left * singular_values @ right.T).to(dtype))
        self.register_buffer("x_star", torch.randn(dim, generator=generator, dtype=torch.float64).to(dtype))
        self.register_buffer("y_star", torch.randn(dim, generator=generator, dtype=torch.float64).to(dtype))
        self.x = nn.Parameter(torch.zeros(dim, dtype=dtype))
        self.y = nn.Parameter(torch.zeros(dim, dtype=dtype))

    def player_of(self, parameter_name: str) -> str:
        return {"x": "x", "y": "y"}[parameter_name]

    def value(self) -> torch.Tensor:
        """:math:`f(x, y)`, which ``x`` minimises and ``y`` maximises."""
        return (self.x - self.x_star) @ self.matrix @ (self.y - self.y_star)

    def forward(self, batch=None) -> GameOutput:
        value = self.value()
        return GameOutput(losses={"y": -value, "x": value}, metrics={"value": value.detach()})

    def equilibrium(self) -> dict[str, torch.Tensor]:
        return {"x": self.x_star, "y": self.y_star}

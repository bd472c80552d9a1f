r"""Dirac-GAN (Mescheder, Geiger & Nowozin, 2018, "Which training methods for GANs actually converge?")."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ali_opt.errors import check_choice
from ali_opt.game import GameOutput

from .options import dtype_option, option_key, real_option
from .point_equilibrium import PointEquilibriumGame

LOSSES = ("non_saturating", "minimax")


class DiracGAN(PointEquilibriumGame):
    r"""The data is a point mass at 0, the generator a point mass at :math:`\theta \in \mathbb{R}`,
    the discriminator linear, :math:`D_\psi(x) = \psi x` (a logit). With :math:`s` the softplus:

    .. math::
        \ell_\psi = s(-D_\psi(0)) + s(D_\psi(\theta)) = \log 2 + s(\psi\theta), \qquad
        \ell_\theta = s(-\psi\theta) \;(\text{non\_saturating}) \;\text{ or }\; -s(\psi\theta) \;(\text{minimax}).

    The gradients are :math:`\partial_\psi \ell_\psi = \sigma(\psi\theta)\,\theta` and
    :math:`\partial_\theta \ell_\theta = -\sigma(-\psi\theta)\,\psi` (non-saturating) or
    :math:`-\sigma(\psi\theta)\,\psi` (minimax). The unique equilibrium is :math:`(\psi, \theta) = (0, 0)`,
    where for both losses the Jacobian of the field is :math:`\tfrac12\begin{pmatrix}0 & 1\\ -1 & 0\end{pmatrix}`:
    purely imaginary eigenvalues :math:`\pm i/2`, so simultaneous gradient descent spirals
    away and extragradient or optimism converge (locally, at the rates of :math:`\min_x\max_y xy`
    with the step halved).
    """

    players = ("psi", "theta")

    def __init__(self, *, loss: str = "non_saturating", theta0: float = 1.0, psi0: float = 1.0,
                 dtype: str = "float64"):
        super().__init__()
        self.loss = check_choice(option_key("loss"), loss, LOSSES)
        dtype = dtype_option(dtype)
        self.theta = nn.Parameter(torch.tensor(real_option("theta0", theta0), dtype=dtype))
        self.psi = nn.Parameter(torch.tensor(real_option("psi0", psi0), dtype=dtype))
        self.register_buffer("data_point", torch.zeros((), dtype=dtype))

    @property
    def zero_sum(self) -> bool:
        r"""Only the minimax loss is zero-sum: :math:`\ell_\psi + \ell_\theta = s(-D_\psi(0)) = \log 2`, a term
        of :math:`\psi` alone (:attr:`ali_opt.game.Game.zero_sum`)."""
        return self.loss == "minimax"

    def player_of(self, parameter_name: str) -> str:
        return {"psi": "psi", "theta": "theta"}[parameter_name]

    def forward(self, batch=None) -> GameOutput:
        real_logit = self.psi * self.data_point
        fake_logit = self.psi * self.theta
        discriminator_loss = F.softplus(-real_logit) + F.softplus(fake_logit)
        if self.loss == "non_saturating":
            generator_loss = F.softplus(-fake_logit)
        else:
            generator_loss = -F.softplus(fake_logit)
        return GameOutput(
            losses={"psi": discriminator_loss, "theta": generator_loss},
            metrics={"fake_probability": torch.sigmoid(fake_logit).detach()},
        )

    def equilibrium(self) -> dict[str, torch.Tensor]:
        return {"theta": torch.zeros_like(self.theta), "psi": torch.zeros_like(self.psi)}

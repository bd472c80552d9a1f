r"""A small GAN on a 2-D mixture of Gaussians (the ring of 8 or the grid of 25 modes)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ali_opt.data.mixtures import MIXTURES, sample_mixture
from ali_opt.errors import check_choice, check_positive
from ali_opt.game import Game, GameOutput

from .mmd import gaussian_mmd
from .options import dtype_option, option_key, seed_option

LATENT_DIM = 2
MMD_BANDWIDTHS = (0.1, 1.0)
"""Kernel widths of the distance: a mode's scale (mode dropping, blur) and the modes' layout."""


class MixtureGAN(Game):
    r"""Generator :math:`G: \mathbb{R}^2 \to \mathbb{R}^2` against discriminator :math:`D: \mathbb{R}^2 \to \mathbb{R}`
    (a logit) on the mixture ``kind`` of :mod:`ali_opt.data.mixtures`, with non-saturating losses
    (:math:`s` the softplus, :math:`x` data, :math:`z \sim N(0, I_2)`):

    .. math::
        \ell_D = \mathbb{E}\, s(-D(x)) + \mathbb{E}\, s(D(G(z))), \qquad \ell_G = \mathbb{E}\, s(-D(G(z))).

    Both networks are MLPs with two hidden layers of ``hidden`` units and LeakyReLU(0.2),
    initialised from ``seed``. A batch is ``batch_size`` data points and as many latent draws.
    ``dtype`` (``float32`` or ``float64``) is that of the networks and batches; the draws are the
    same float32 numbers either way.

    ``distance_to_equilibrium()`` is the Gaussian-kernel MMD (:func:`~ali_opt.toy_games.mmd.gaussian_mmd`,
    bandwidths :data:`MMD_BANDWIDTHS`) between :math:`G` applied to a fixed latent sample and a
    fixed data sample, ``eval_size`` points each, both drawn once from ``seed``. At the
    equilibrium (:math:`G(z)` distributed as the data) it is not 0 but the MMD between two
    independent samples, about 0.06 for 512 points.
    """

    players = ("discriminator", "generator")

    def __init__(self, *, kind: str = "ring", batch_size: int = 128, hidden: int = 64, seed: int = 0,
                 eval_size: int = 512, dtype: str = "float32"):
        super().__init__()
        self.kind = check_choice(option_key("kind"), kind, MIXTURES)
        self.batch_size = check_positive(option_key("batch_size"), batch_size, integer=True)
        check_positive(option_key("hidden"), hidden, integer=True)
        check_positive(option_key("eval_size"), eval_size, integer=True)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed_option(seed))
            self.generator = _mlp(LATENT_DIM, 2, hidden)
            self.discriminator = _mlp(2, 1, hidden)
        self.dtype = dtype_option(dtype)
        self.to(self.dtype)
        evaluation = torch.Generator().manual_seed(seed)
        self.register_buffer("eval_data", sample_mixture(kind, eval_size, evaluation).to(self.dtype))
        self.register_buffer("eval_latent", torch.randn(eval_size, LATENT_DIM, generator=evaluation).to(self.dtype))

    def player_of(self, parameter_name: str) -> str:
        return {"discriminator": "discriminator", "generator": "generator"}[parameter_name.split(".")[0]]

    def sample_batch(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(data points, latent draws), each of shape (``batch_size``, 2)."""
        data = sample_mixture(self.kind, self.batch_size, generator)
        latent = torch.randn(self.batch_size, LATENT_DIM, generator=generator, device=generator.device)
        return data.to(self.dtype), latent.to(self.dtype)

    def forward(self, batch: tuple[torch.Tensor, torch.Tensor]) -> GameOutput:
        data, latent = batch
        logits = self.discriminator(torch.cat([data, self.generator(latent)])).squeeze(1)
        real_logits, fake_logits = logits[: len(data)], logits[len(data):]
        return GameOutput(
            losses={
                "discriminator": F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean(),
                "generator": F.softplus(-fake_logits).mean(),
            },
            metrics={
                "real_probability": torch.sigmoid(real_logits).mean().detach(),
                "fake_probability": torch.sigmoid(fake_logits).mean().detach(),
            },
        )

    @torch.no_grad()
    def distance_to_equilibrium(self) -> float:
        return gaussian_mmd(self.generator(self.eval_latent), self.eval_data, MMD_BANDWIDTHS).item()


def _mlp(in_features: int, out_features: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_features, hidden), nn.LeakyReLU(0.2),
        nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
        nn.Linear(hidden, out_features),
    )

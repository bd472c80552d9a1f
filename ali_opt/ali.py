r"""The ALI game (Dumoulin et al., 2016; Donahue et al., 2016 call it BiGAN).

Two players. The generator side ``g`` owns the encoder :math:`G_z(x)` (stochastic:
:math:`z = \mu(x) + \sigma(x)\,\epsilon`) and the decoder :math:`G_x(z)`; the
discriminator ``d`` owns :math:`D(x, z)`, a logit. With :math:`s` the softplus,
real pairs :math:`(x, G_z(x))` and generated pairs :math:`(G_x(z), z)`, :math:`z\sim N(0, I)`:

.. math::
    \ell_d = \mathbb{E}\, s(-D(x, G_z(x))) + \mathbb{E}\, s(D(G_x(z), z)), \qquad
    \ell_g = \mathbb{E}\, s(D(x, G_z(x))) + \mathbb{E}\, s(-D(G_x(z), z))

(``loss="non_saturating"``: the labels swapped, as in the original code) or
:math:`\ell_g = -\ell_d` (``loss="minimax"``, the saturating form). At the equilibrium
:math:`D \equiv 1/2` and :math:`\ell_d = 2\log 2`. Real and generated pairs go through the
discriminator together in one pass.
"""
from __future__ import annotations

import contextlib
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .errors import check_choice
from .game import Game, GameOutput
from .models.layers import seeded_dropout

LOSSES = ("non_saturating", "minimax")
EQUILIBRIUM_LOSS = 2 * torch.log(torch.tensor(2.0)).item()


class ALIBatch(NamedTuple):
    """Everything random in one evaluation of :class:`ALIGame`: with the parameters and buffers,
    it determines the losses and gradients bit for bit."""

    x: torch.Tensor
    """Data, (N, *data_shape), in the decoder's range."""
    z: torch.Tensor
    """Prior draws for the generated pairs, (N, *latent_shape)."""
    epsilon: torch.Tensor
    r"""Encoder noise, (N, *latent_shape): :math:`z = \mu(x) + \sigma(x)\,\epsilon`."""
    dropout_seed: int | None
    """Seeds the generator the discriminator's dropout masks are drawn from. None: the masks come
    from the global generator (a vmapped :class:`~ali_opt.ensemble.Ensemble`, whose members cannot
    each draw from a generator of their own)."""


class ALIGame(Game):
    """ALI as a two-player game. The batch is an :class:`ALIBatch` (from :meth:`draw_batch`),
    so that an evaluation is a deterministic function of parameters, buffers and batch.

    A plain tensor of data is also accepted, as a convenience for interactive use and
    benchmarks: z, epsilon and the dropout seed are then drawn afresh from the global torch
    generator (``game(x)`` is ``game(game.draw_batch(x))``), so two calls differ.
    """

    players = ("d", "g")

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        discriminator: nn.Module,
        latent_shape: tuple[int, ...],
        loss: str = "non_saturating",
        autocast_dtype: torch.dtype | None = None,
    ):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.discriminator = discriminator
        self.latent_shape = tuple(latent_shape)
        self.loss = check_choice("loss", loss, LOSSES)
        self.autocast_dtype = autocast_dtype

    def player_of(self, parameter_name: str) -> str:
        return "d" if parameter_name.startswith("discriminator.") else "g"

    def _autocast(self, device: torch.device):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=self.autocast_dtype)

    def draw_batch(self, x: torch.Tensor, generator: torch.Generator | None = None) -> ALIBatch:
        """The batch of data ``x`` with its noise: epsilon, then z (each N(0, I), float32), then
        the dropout seed, drawn in this order from ``generator`` (on ``x``'s device; None: the
        global generator). On a GPU, reading the seed back synchronises with the device."""
        shape = (x.shape[0], *self.latent_shape)
        epsilon = torch.randn(shape, generator=generator, device=x.device)
        z = torch.randn(shape, generator=generator, device=x.device)
        seed = int(torch.randint(2**62, (), generator=generator, device=x.device))
        return ALIBatch(x, z, epsilon, seed)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's mean and log standard deviation of z given x."""
        return self.encoder(x)

    def forward(self, batch: ALIBatch | torch.Tensor) -> GameOutput:
        if isinstance(batch, torch.Tensor):
            batch = self.draw_batch(batch)
        x, z, epsilon, dropout_seed = batch
        n = x.shape[0]
        masks = contextlib.nullcontext() if dropout_seed is None else seeded_dropout(dropout_seed, x.device)
        with self._autocast(x.device), masks:
            mu, log_sigma = self.encoder(x)
            sigma = log_sigma.exp()
            z_hat = mu + sigma * epsilon
            x_tilde = self.decoder(z)
            logits = self.discriminator(torch.cat([x.to(x_tilde.dtype), x_tilde]), torch.cat([z_hat, z])).float()
        real, fake = logits[:n], logits[n:]
        loss_d = F.softplus(-real).mean() + F.softplus(fake).mean()
        if self.loss == "non_saturating":
            loss_g = F.softplus(real).mean() + F.softplus(-fake).mean()
        else:
            loss_g = -loss_d
        with torch.no_grad():
            mu32, sigma32 = mu.float(), sigma.float()
            metrics = {
                "d_real": torch.sigmoid(real).mean(),
                "d_fake": torch.sigmoid(fake).mean(),
                "mu_mean": mu32.mean(),
                "mu_std": mu32.std(),
                "sigma_mean": sigma32.mean(),
                "sigma_min": sigma32.min(),
            }
        return GameOutput({"d": loss_d, "g": loss_g}, metrics)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`G_x(\mu(x))`: the decoder applied to the encoder's mean (deterministic)."""
        with self._autocast(x.device):
            mu, _ = self.encoder(x)
            return self.decoder(mu).float()

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        with self._autocast(z.device):
            return self.decoder(z).float()

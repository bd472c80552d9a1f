r"""The ALI game (Dumoulin et al., 2016; Donahue et al., 2016 call it BiGAN).

Two players. The generator side ``g`` owns the encoder :math:`G_z(x)` (stochastic:
:math:`z = \mu(x) + \sigma(x)\,\epsilon`, or :math:`z = f([x, \epsilon])` for a noise-input
encoder, :mod:`ali_opt.models.networks`) and the decoder :math:`G_x(z)`; the
discriminator ``d`` owns :math:`D(x, z)`, a logit. With :math:`s` the softplus,
real pairs :math:`(x, G_z(x))` and generated pairs :math:`(G_x(z), z)`, :math:`z\sim N(0, I)`:

.. math::
    \ell_d = \mathbb{E}\, s(-D(x, G_z(x))) + \mathbb{E}\, s(D(G_x(z), z)), \qquad
    \ell_g = \mathbb{E}\, s(D(x, G_z(x))) + \mathbb{E}\, s(-D(G_x(z), z))

(``loss="non_saturating"``: the labels swapped, as in the original code) or
:math:`\ell_g = -\ell_d` (``loss="minimax"``, the saturating form). At the equilibrium
:math:`D \equiv 1/2` and :math:`\ell_d = 2\log 2`. Real and generated pairs go through the
discriminator together in one pass.

Instance noise (Arjovsky and Bottou, 2017; the stabiliser of the reproduction report), off by
default: with ``instance_noise={"std": s, "anneal": ..., "anneal_steps": T}`` the discriminator
sees :math:`(x + \sigma_t n_1, G_z(x))` and :math:`(G_x(z) + \sigma_t n_2, z)`, :math:`n \sim N(0, I)`,
while the encoder still reads the clean :math:`x`. :math:`\sigma_t = s` (``"constant"``) or
:math:`s \max(0, 1 - t/T)` (``"linear"``, 0 from step T on), :func:`instance_noise_std`. The
draw :math:`n` and :math:`\sigma_t` travel in the batch, so an optimizer that evaluates a batch
twice adds the same noise twice, and a resumed run draws what the straight run drew. The game
learns :math:`t` from :meth:`ALIGame.set_progress`, which the training loop calls before each
step draws its batch.
"""
from __future__ import annotations

import contextlib
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .ensemble import PerMember, member_index
from .errors import ConfigError, check_choice, check_integer
from .game import Game, GameOutput
from .models.layers import seeded_dropout
from .models.networks import encoding_of

LOSSES = ("non_saturating", "minimax")
EQUILIBRIUM_LOSS = 2 * torch.log(torch.tensor(2.0)).item()

ANNEALING = ("constant", "linear")
"""How instance noise's standard deviation changes with the step (:func:`instance_noise_std`)."""

NO_INSTANCE_NOISE = {"std": 0.0, "anneal": "linear", "anneal_steps": 0}
"""The ``instance_noise`` config key's default: off."""


def check_instance_noise(value, key: str = "instance_noise") -> dict:
    """``value`` completed with :data:`NO_INSTANCE_NOISE`'s entries; :class:`ConfigError` when bad."""
    if value is None:
        return dict(NO_INSTANCE_NOISE)
    if not isinstance(value, dict) or set(value) - set(NO_INSTANCE_NOISE):
        raise ConfigError(f"{key}={value!r} is not valid; give a dict with keys std, anneal, anneal_steps, "
                          'such as {"std": 0.1, "anneal": "linear", "anneal_steps": 10000}')
    noise = {**NO_INSTANCE_NOISE, **value}
    std, steps = noise["std"], noise["anneal_steps"]
    if isinstance(std, bool) or not isinstance(std, (int, float)) or not 0 <= std < float("inf"):
        raise ConfigError(f"{key}.std={std!r} is not valid; it must be a finite number >= 0 (0: off)")
    check_choice(f"{key}.anneal", noise["anneal"], ANNEALING)
    check_integer(f"{key}.anneal_steps", steps)
    if std > 0 and noise["anneal"] == "linear" and steps == 0:
        raise ConfigError(f"{key}.anneal_steps=0 is not valid with anneal='linear'; give the step at which the "
                          "noise reaches 0, or anneal='constant'")
    return noise


def instance_noise_std(noise: dict, step: int) -> float:
    r""":math:`\sigma_t` at step ``step`` (counted from 1; 0 before training) of the ``instance_noise``
    config ``noise``: ``std`` (``"constant"``) or ``std * max(0, 1 - step / anneal_steps)`` (``"linear"``)."""
    if noise["std"] == 0:
        return 0.0
    if noise["anneal"] == "constant":
        return float(noise["std"])
    return float(noise["std"]) * max(0.0, 1.0 - step / noise["anneal_steps"])


class ALIBatch(NamedTuple):
    """Everything random in one evaluation of :class:`ALIGame`: with the parameters and buffers,
    it determines the losses and gradients bit for bit."""

    x: torch.Tensor
    """Data, (N, *data_shape), in the decoder's range."""
    z: torch.Tensor
    """Prior draws for the generated pairs, (N, *latent_shape)."""
    epsilon: torch.Tensor
    r"""Encoder noise, (N, *noise_shape) (:attr:`ALIGame.noise_shape`; z's shape for a Gaussian
    encoder, :math:`z = \mu(x) + \sigma(x)\,\epsilon`)."""
    dropout_seed: int | PerMember | None
    """Seeds the generator the discriminator's dropout masks are drawn from. In a stacked batch of an
    :class:`~ali_opt.ensemble.Ensemble`, a :class:`~ali_opt.ensemble.PerMember` of the members' seeds:
    member i draws its masks from ``values[i]``, as a separate run does. None: the masks come from
    the global generator (under ``vmap(randomness="different")`` in an ensemble), new at every evaluation."""
    instance_noise: torch.Tensor | None = None
    r"""Instance noise :math:`n \sim N(0, I)`, (2N, *data_shape): rows :N go to the real pairs' x,
    rows N: to the generated pairs' :math:`G_x(z)`. None: no instance noise."""
    instance_noise_std: float = 0.0
    r""":math:`\sigma_t` of the step the batch was drawn for: the discriminator sees :math:`x + \sigma_t n`."""


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
        instance_noise: dict | None = None,
    ):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.discriminator = discriminator
        self.latent_shape = tuple(latent_shape)
        self.loss = check_choice("loss", loss, LOSSES)
        self.autocast_dtype = autocast_dtype
        self.instance_noise = check_instance_noise(instance_noise)
        self.progress = 0

    @property
    def zero_sum(self) -> bool:
        """Only the minimax loss is zero-sum (:attr:`ali_opt.game.Game.zero_sum`)."""
        return self.loss == "minimax"

    def player_of(self, parameter_name: str) -> str:
        return "d" if parameter_name.startswith("discriminator.") else "g"

    def _autocast(self, device: torch.device):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=self.autocast_dtype)

    def set_progress(self, step: int) -> None:
        r"""The step the next batches are drawn for (counted from 1; 0 before training): it sets
        instance noise's :math:`\sigma_t`. The training loop calls it before each step."""
        self.progress = int(step)

    def draw_batch(self, x: torch.Tensor, generator: torch.Generator | None = None) -> ALIBatch:
        r"""The batch of data ``x`` with its noise: epsilon, then z (each N(0, I), float32), then
        the dropout seed, then, when instance noise's :math:`\sigma_t` at :attr:`progress` is above
        0, the instance noise (N(0, I), (2N, *data_shape)), drawn in this order from ``generator``
        (on ``x``'s device; None: the global generator). On a GPU, reading the seed back
        synchronises with the device."""
        epsilon = torch.randn((x.shape[0], *self.noise_shape), generator=generator, device=x.device)
        z = torch.randn((x.shape[0], *self.latent_shape), generator=generator, device=x.device)
        seed = int(torch.randint(2**62, (), generator=generator, device=x.device))
        std = instance_noise_std(self.instance_noise, self.progress)
        if std == 0:
            return ALIBatch(x, z, epsilon, seed)
        noise = torch.randn((2 * x.shape[0], *x.shape[1:]), generator=generator, device=x.device)
        return ALIBatch(x, z, epsilon, seed, noise, std)

    @property
    def noise_shape(self) -> tuple[int, ...]:
        """The shape of one example's encoder noise epsilon: z's for a Gaussian encoder, the
        encoder's own for a noise-input one (:mod:`ali_opt.models.networks`)."""
        return tuple(encoding_of(self.encoder).noise_shape(self.latent_shape))

    @torch.no_grad()
    def code(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's deterministic code of x: the mean for a Gaussian encoder."""
        with self._autocast(x.device):
            return encoding_of(self.encoder).code(x).float()

    def forward(self, batch: ALIBatch | torch.Tensor) -> GameOutput:
        if isinstance(batch, torch.Tensor):
            batch = self.draw_batch(batch)
        x, z, epsilon, dropout_seed, noise, noise_std = batch
        n = x.shape[0]
        masks = _dropout_masks(dropout_seed, x.device)
        with self._autocast(x.device), masks:
            encoding = encoding_of(self.encoder)
            z_hat, encoder_parts = encoding.sample(x, epsilon)
            x_tilde = self.decoder(z)
            joint_x = torch.cat([x.to(x_tilde.dtype), x_tilde])
            if noise is not None:
                joint_x = joint_x + (noise_std * noise).to(joint_x.dtype)
            logits = self.discriminator(joint_x, torch.cat([z_hat, z])).float()
        real, fake = logits[:n], logits[n:]
        loss_d = F.softplus(-real).mean() + F.softplus(fake).mean()
        if self.loss == "non_saturating":
            loss_g = F.softplus(real).mean() + F.softplus(-fake).mean()
        else:
            loss_g = -loss_d
        with torch.no_grad():
            metrics = {"d_real": torch.sigmoid(real).mean(), "d_fake": torch.sigmoid(fake).mean(),
                       **encoding.statistics(encoder_parts)}
        return GameOutput({"d": loss_d, "g": loss_g}, metrics)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`G_x(\mu(x))`: the decoder applied to the encoder's code (:meth:`code`; deterministic)."""
        with self._autocast(x.device):
            return self.decoder(encoding_of(self.encoder).code(x)).float()

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        with self._autocast(z.device):
            return self.decoder(z).float()


def _dropout_masks(dropout_seed: int | PerMember | None, device: torch.device):
    """Where the dropout masks of one evaluation come from (see :attr:`ALIBatch.dropout_seed`)."""
    if dropout_seed is None:
        return contextlib.nullcontext()
    if isinstance(dropout_seed, PerMember):
        member = member_index()
        if member is None:
            raise ValueError("a batch whose dropout_seed holds one seed per member is evaluated by an Ensemble, "
                             "not by one game")
        return seeded_dropout(dropout_seed.values, device, member)
    return seeded_dropout(dropout_seed, device)

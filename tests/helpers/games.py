"""A small ALI game with every kind of layer."""
from __future__ import annotations

import torch

from ali_opt.ali import ALIGame
from ali_opt.models import build_models


def small_paper_game() -> ALIGame:
    """cifar32 at 1/8 width: batch norm in the encoder and decoder, dropout in the discriminator."""
    torch.manual_seed(0)
    models = build_models("cifar32", width=0.125, pixel_mean=0.4)
    return ALIGame(models.encoder, models.decoder, models.discriminator, models.latent_shape)

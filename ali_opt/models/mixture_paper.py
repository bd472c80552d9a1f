"""The ALI paper's networks for 2-D mixtures (Dumoulin et al. 2016, Section 5 "2D toy" and
appendix; layer sizes from the authors' ``experiments/ali_mixture.py``, IshmaelBelghazi/ALI, in
its May 2016 versions 4826925 to 542ead6, a mixture of 5 Gaussians).

The script's last version (a7d4235, June 2016), the 25-Gaussian grid of the paper, has other
networks: ``mixture_grid25`` (:mod:`ali_opt.models.mixture_grid25`).

- encoder: x (2) -> 1000 -> 1000 -> (mu, log sigma) (2 + 2); each hidden layer linear without
  bias, batch norm, ReLU; the output layer linear with bias;
- decoder: z (2) -> 1000 -> 1000 -> x (2), the same hidden layers, a linear output with bias;
- discriminator on the concatenation (x, z): dropout 0.2, then two maxout layers of 400 units
  with 2 pieces each (linear with bias, then the max over consecutive pairs), then a linear
  logit; dropout 0.5 on the input of each layer above the first;
- weights ~ N(0, 0.02), biases 0; batch norm with the original settings (epsilon 1e-4,
  running averages at rate 0.05).

About the 0.5 dropout: the script means to put it on the inputs of the discriminator's
upper linear layers, but it picks them by the substring ``'linear'`` in the brick names, and
its bricks are named ``discriminator_h1``, ``discriminator_h2`` and ``discriminator_out``, so
as written only the 0.2 input dropout is applied. This model follows the stated intent
(0.5 on the upper layers); ``upper_dropout=0`` gives the script as it runs.
"""
from __future__ import annotations

from torch import nn

from ali_opt.models.initialization import init_gaussian_
from ali_opt.models.layers import Dropout, Layer, stack
from ali_opt.models.networks import ALIModels, GaussianEncoder, JointDiscriminator

GENERATOR_HIDDEN = (Layer(1000), Layer(1000))
"""Encoder and decoder hidden layers: linear without bias, batch norm, ReLU."""

INPUT_DROPOUT = 0.2
UPPER_DROPOUT = 0.5
MAXOUT_UNITS = 400
MAXOUT_PIECES = 2
WEIGHT_STD = 0.02
"""``IsotropicGaussian(std=0.02)`` of the original script."""


def build_mixture_paper_models(*, width: float, data_dim: int, latent_dim: int,
                               upper_dropout: float = UPPER_DROPOUT) -> ALIModels:
    """The paper's 2-D networks, hidden sizes scaled by ``width`` (1: 1000 and 400 units)."""
    pieces = MAXOUT_UNITS * MAXOUT_PIECES  # a maxout layer's linear map outputs units x pieces
    discriminator_hidden = (Layer(pieces, batchnorm=False, bias=True, dropout=INPUT_DROPOUT),
                            Layer(pieces, batchnorm=False, bias=True, dropout=upper_dropout))
    joint, features, _ = stack(discriminator_hidden, data_dim + latent_dim, width, kind="dense", leak=0.0,
                               maxout_pieces=MAXOUT_PIECES)
    joint += [Dropout(upper_dropout), nn.Linear(features, 1)] if upper_dropout else [nn.Linear(features, 1)]
    models = ALIModels(
        encoder=GaussianEncoder(_generator_mlp(data_dim, 2 * latent_dim, width)),
        decoder=_generator_mlp(latent_dim, data_dim, width),
        discriminator=JointDiscriminator(nn.Flatten(), nn.Flatten(), nn.Sequential(*joint)),
        latent_shape=(latent_dim,),
        data_shape=(data_dim,),
    )
    for network in models[:3]:
        init_gaussian_(network, WEIGHT_STD)
    return models


def _generator_mlp(in_features: int, out_features: int, width: float) -> nn.Sequential:
    hidden, features, _ = stack(GENERATOR_HIDDEN, in_features, width, kind="dense", leak=0.0)
    return nn.Sequential(*hidden, nn.Linear(features, out_features))

"""The networks of the authors' final 25-Gaussian script: IshmaelBelghazi/ALI
``experiments/ali_mixture.py`` at a7d4235 (June 2016), the experiment of the ALI paper's
Section 5 (Dumoulin et al. 2016), ``create_model_brick``:

- encoder: a change-of-variables conditional (``COVConditional``, here
  :class:`~ali_opt.models.networks.NoiseInputEncoder`): z = f([x, epsilon]) with epsilon
  ~ N(0, I) of x's dimension; f: 4 -> 400 -> 400 -> 2, each hidden layer linear without
  bias, batch norm, ReLU; the output layer linear with bias;
- decoder (``DeterministicConditional``): z (2) -> 400 -> 400 -> 400 -> 400 -> x (2), the same
  hidden layers, a linear output with bias;
- discriminator (``XZJointDiscriminator`` with identity x and z paths): on the concatenation
  (x, z), three maxout layers of 200 units with 5 pieces each (``LinearMaxout``: a linear map
  with bias to 200 x 5 values, then the max over each unit's 5 consecutive pieces), then a
  linear logit; no dropout (the script builds its dropout graph but trains without it);
- weights ~ N(0, 0.02), biases 0 (``IsotropicGaussian(std=0.02)``, ``Constant(0)``); batch
  norm with Blocks' settings (epsilon 1e-4, population statistics updated at rate 0.05).

The earlier (May 2016) networks of the same script are ``mixture_paper``
(:mod:`ali_opt.models.mixture_paper`).
"""
from __future__ import annotations

from torch import nn

from ali_opt.models.initialization import init_gaussian_
from ali_opt.models.layers import Layer, stack
from ali_opt.models.networks import ALIModels, JointDiscriminator, NoiseInputEncoder

GENERATOR_UNITS = 400
ENCODER_HIDDEN = (Layer(GENERATOR_UNITS),) * 2
DECODER_HIDDEN = (Layer(GENERATOR_UNITS),) * 4
"""Hidden layers of the encoder and decoder: linear without bias, batch norm, ReLU."""

MAXOUT_UNITS = 200
MAXOUT_PIECES = 5
DISCRIMINATOR_HIDDEN = (Layer(MAXOUT_UNITS * MAXOUT_PIECES, batchnorm=False, bias=True),) * 3
"""``LinearMaxout(output_dim=200, num_pieces=5)`` three times; each row's channels are the
linear map's outputs, units x pieces."""

WEIGHT_STD = 0.02


def build_mixture_grid25_models(*, width: float, data_dim: int, latent_dim: int) -> ALIModels:
    """The final script's networks, hidden sizes scaled by ``width`` (1: 400 and 200 units).
    The encoder's noise has x's dimension, as in the script (``COVConditional(mapping, (INPUT_DIM,))``)."""
    joint, features, _ = stack(DISCRIMINATOR_HIDDEN, data_dim + latent_dim, width, kind="dense", leak=0.0,
                               maxout_pieces=MAXOUT_PIECES)
    models = ALIModels(
        encoder=NoiseInputEncoder(_generator_mlp(ENCODER_HIDDEN, 2 * data_dim, latent_dim, width),
                                  noise_shape=(data_dim,)),
        decoder=_generator_mlp(DECODER_HIDDEN, latent_dim, data_dim, width),
        discriminator=JointDiscriminator(nn.Flatten(), nn.Flatten(), nn.Sequential(*joint, nn.Linear(features, 1))),
        latent_shape=(latent_dim,),
        data_shape=(data_dim,),
    )
    for network in models[:3]:
        init_gaussian_(network, WEIGHT_STD)
    return models


def _generator_mlp(hidden_layers: tuple[Layer, ...], in_features: int, out_features: int, width: float
                   ) -> nn.Sequential:
    hidden, features, _ = stack(hidden_layers, in_features, width, kind="dense", leak=0.0)
    return nn.Sequential(*hidden, nn.Linear(features, out_features))

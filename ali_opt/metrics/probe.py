"""A linear probe of the encoder: how linearly separable the classes are in its features.

As in the ALI paper (Dumoulin et al. 2016, section 4.3, which probed the SVHN encoder with a
linear SVM on "the concatenation of the last three hidden layers"): freeze the encoder,
take features of labelled training images, fit a linear classifier, and score it on
held-out images. Here the classifier is multinomial logistic regression

    minimise over W, b:  mean_i CE(softmax(W f_i + b), y_i) + (l2 / 2) ||W||^2

on features standardised with the training features' mean and standard deviation, solved
by L-BFGS (strong Wolfe line search) from W = 0, b = 0 in float64. Nothing in it is random,
so the probe is deterministic and never touches a random number generator.

Features (``features``):
- ``"mean"``: the encoder's mean mu(x) (latent_dim values);
- ``"hidden"``: the last :data:`HIDDEN_LAYERS` activations of the encoder, flattened and
  concatenated (at quarter width on cifar32: 64x4x4 + 128 + 128 = 1,280 values).
Both are taken in evaluation mode (BatchNorm on running statistics).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import ConfigError
from ..models.networks import encoding_of

FEATURES = ("mean", "hidden")

HIDDEN_LAYERS = 3
"""How many of the encoder's last activations ``"hidden"`` concatenates (the ALI paper's choice)."""

ACTIVATIONS = (nn.LeakyReLU, nn.ReLU)


@torch.no_grad()
def encoder_features(encoder: nn.Module, x: torch.Tensor, features: str) -> torch.Tensor:
    """(N, D) float64 features of images ``x`` (the encoder must already be in the mode wanted)."""
    if features == "mean":
        return encoding_of(encoder).code(x).flatten(1).double()
    if features != "hidden":
        raise ConfigError(f"probe.features={features!r} is not valid; choose one of: {', '.join(FEATURES)}")
    net = getattr(encoder, "net", None)
    if not isinstance(net, nn.Sequential):
        raise ConfigError("probe.features='hidden' needs an encoder whose `net` is an nn.Sequential; use 'mean'")
    hidden = []
    for module in net:
        x = module(x)
        if isinstance(module, ACTIVATIONS):
            hidden.append(x.flatten(1))
    if len(hidden) < HIDDEN_LAYERS:
        raise ConfigError(f"probe.features='hidden' needs {HIDDEN_LAYERS} activations in the encoder, "
                          f"it has {len(hidden)}; use 'mean'")
    return torch.cat(hidden[-HIDDEN_LAYERS:], dim=1).double()


def fit_and_score(train_features: torch.Tensor, train_labels: torch.Tensor, test_features: torch.Tensor,
                  test_labels: torch.Tensor, l2: float = 1e-2, iterations: int = 100) -> float:
    """Accuracy on the test features of the logistic regression fitted on the training features.

    ``l2`` weighs (1/2)||W||^2 against the mean cross-entropy; ``iterations`` caps L-BFGS
    iterations. Classes are 0 .. max label seen.
    """
    classes = int(max(train_labels.max(), test_labels.max())) + 1
    mean, std = train_features.mean(0), train_features.std(0).clamp_min(1e-8)
    train_x, test_x = (train_features - mean) / std, (test_features - mean) / std
    weight = torch.zeros(train_x.shape[1], classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    solver = torch.optim.LBFGS([weight, bias], max_iter=iterations, history_size=20, line_search_fn="strong_wolfe",
                               tolerance_grad=1e-9, tolerance_change=1e-12)

    def objective() -> torch.Tensor:
        solver.zero_grad()
        loss = F.cross_entropy(train_x @ weight + bias, train_labels) + 0.5 * l2 * weight.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        solver.step(objective)
    with torch.no_grad():
        predicted = (test_x @ weight + bias).argmax(1)
    return (predicted == test_labels).double().mean().item()

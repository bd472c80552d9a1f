"""Per-player update rules: what a player does with a gradient, whatever the game scheme.

A rule turns a player's gradients into the step to add to its parameters, and keeps its own
state (momentum buffers, Adam moments) in a dict of tensors and numbers so that the state
can be saved with ``torch.save`` and loaded with ``weights_only=True``. Game schemes
(simultaneous, extragradient, ...) compose a scheme with one rule per player.
"""
from .adam import Adam
from .rule import Rule
from .sgd import SGD

__all__ = ["Adam", "Rule", "SGD"]

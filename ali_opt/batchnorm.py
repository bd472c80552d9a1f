"""BatchNorm running statistics: frozen at points the iterates do not visit, recomputed for averaged weights."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def batch_norms(module: nn.Module) -> list[_BatchNorm]:
    """The BatchNorm layers of ``module`` that keep running statistics."""
    return [m for m in module.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]


@contextmanager
def running_statistics_frozen(module: nn.Module) -> Iterator[None]:
    """Inside, a training-mode forward pass still normalises with the batch's statistics but
    leaves the running statistics (and ``num_batches_tracked``) untouched. For an
    :class:`~ali_opt.ensemble.Ensemble` this reaches the layers its members run with."""
    norms = batch_norms(module)
    template = getattr(module, "member_template", None)
    if template is not None:
        norms += batch_norms(template)
    for norm in norms:
        norm.track_running_stats = False  # training mode then passes no running buffers to batch_norm
    try:
        yield
    finally:
        for norm in norms:
            norm.track_running_stats = True


@contextmanager
def recomputed_statistics(module: nn.Module, batches: Iterable[Any]) -> Iterator[None]:
    """Inside, the running statistics are those of the current weights: reset, then the
    cumulative average over one training-mode forward pass ``module(batch)`` per batch of
    ``batches`` (as ``torch.optim.swa_utils.update_bn`` does for averaged weights; Izmailov et
    al., 2018). The previous statistics, momenta and train/eval mode come back on exit."""
    norms = batch_norms(module)
    if not norms:
        yield
        return
    saved = [{name: buffer.clone() for name, buffer in norm.named_buffers()} for norm in norms]
    momenta = [norm.momentum for norm in norms]
    was_training = module.training
    try:
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # cumulative moving average
        module.train()
        with torch.no_grad():
            for batch in batches:
                module(batch)
        module.train(was_training)
        yield
    finally:
        module.train(was_training)
        for norm, buffers, momentum in zip(norms, saved, momenta):
            norm.momentum = momentum
            with torch.no_grad():
                for name, buffer in norm.named_buffers():
                    buffer.copy_(buffers[name])

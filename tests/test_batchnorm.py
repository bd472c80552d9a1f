"""BatchNorm running statistics: moved only at the iterates, recomputed for averaged weights."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from ali_opt.batchnorm import recomputed_statistics, running_statistics_frozen
from tests.test_ali_game import small_paper_game
from tests.toy_helpers import optimizer_for


def test_recomputed_statistics_average_the_batches_and_come_back():
    norm = nn.BatchNorm1d(1, momentum=0.05)
    norm.running_mean.fill_(7.0)
    batches = [torch.tensor([[1.0], [3.0]]), torch.tensor([[5.0], [9.0]])]
    model = nn.Sequential(norm).eval()
    with recomputed_statistics(model, batches):
        # batch means 2 and 7, unbiased variances 2 and 8: their plain averages
        assert norm.running_mean.item() == pytest.approx(4.5)
        assert norm.running_var.item() == pytest.approx(5.0)
        assert not model.training and norm.momentum is None
    assert norm.running_mean.item() == 7.0 and norm.running_var.item() == 1.0
    assert norm.momentum == 0.05 and not model.training


def test_frozen_statistics_still_normalise_with_the_batch():
    norm = nn.BatchNorm1d(1).train()
    x = torch.tensor([[1.0], [3.0]])
    with running_statistics_frozen(norm):
        y = norm(x)
    assert torch.allclose(y.flatten(), torch.tensor([-1.0, 1.0]), atol=1e-4)
    assert norm.running_mean.item() == 0.0 and norm.num_batches_tracked.item() == 0
    assert norm.track_running_stats


def statistics(game) -> dict[str, torch.Tensor]:
    return {name: buffer.clone() for name, buffer in game.named_buffers()}


@pytest.mark.parametrize("name, options, batches", [
    ("extra_adam", {"resample": True}, 2),  # the second evaluation is at the extrapolated point
    ("alt_adam", {"d_steps": 2}, 3),  # the later evaluations are at intermediate points
    ("adam", {}, 1),
])
def test_statistics_move_only_at_the_iterates(name, options, batches):
    """After one step, the running statistics are those of one forward pass on the step's first batch."""
    game = small_paper_game().train()
    expected = copy.deepcopy(game)
    generator = torch.Generator().manual_seed(0)
    drawn = [game.draw_batch(torch.rand(8, 3, 32, 32, generator=generator), generator) for _ in range(batches)]
    queue = iter(drawn)
    optimizer_for(game, name, lr=1e-3, **options).step(lambda: next(queue))
    with torch.no_grad():
        expected(drawn[0])
    found, wanted = statistics(game), statistics(expected)
    assert found.keys() == wanted.keys() and found
    for key in found:
        assert torch.equal(found[key], wanted[key]), key

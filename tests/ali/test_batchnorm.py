"""BatchNorm running statistics: moved only at the iterates, recomputed for averaged weights."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from ali_opt.batchnorm import recomputed_statistics, running_statistics_frozen
from tests.helpers.games import small_paper_game
from tests.helpers.toy_games import optimizer_for


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


def test_averaged_model_recomputes_statistics_over_the_training_set_and_restores_the_live_ones():
    from ali_opt.data import Dataset
    from ali_opt.metrics.reconstruction import averaged_model

    game = small_paper_game().train()
    images = torch.randint(0, 256, (20, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    dataset = Dataset("tiny", images, images[:0])
    optimizer = optimizer_for(game, "adam", lr=1e-2, average="uniform")
    generator = torch.Generator().manual_seed(1)
    for _ in range(2):
        optimizer.step(lambda: game.draw_batch(dataset.sample(8, generator), generator))
    live_parameters, live_statistics = copy.deepcopy(dict(game.named_parameters())), statistics(game)
    averaged_copy = copy.deepcopy(game)
    with torch.no_grad():
        for name, parameter in averaged_copy.named_parameters():
            player = game.player_of(name)
            parameter.copy_(optimizer.averaged[player][optimizer.parameter_names[player].index(name)])
    norms = [m for m in averaged_copy.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    batch_generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for x in dataset.train_batches(8):  # 8, 8 and 4 images
            averaged_copy(game.draw_batch(x, batch_generator))
    with averaged_model(game, optimizer, dataset, batch_size=8, seed=3):
        inside = statistics(game)
    expected = statistics(averaged_copy)
    for key in expected:
        assert torch.equal(inside[key], expected[key]), key
    assert int(inside["encoder.net.1.num_batches_tracked"]) == 3
    assert statistics(game).keys() == live_statistics.keys()
    assert all(torch.equal(statistics(game)[k], v) for k, v in live_statistics.items())
    assert all(torch.equal(p, live_parameters[n]) for n, p in game.named_parameters())

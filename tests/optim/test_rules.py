"""The per-player rules against torch.optim on the same gradients, and against hand values."""
from __future__ import annotations

import pytest
import torch

from optimizers.rules import SGD, Adam
from tests.helpers.toy_games import ScalarGame, no_batch, optimizer_for


def random_tensors(shapes, generator: torch.Generator) -> list[torch.Tensor]:
    return [torch.randn(shape, generator=generator, dtype=torch.float64) for shape in shapes]


def assert_rule_matches(rule, reference_class, **reference_options):
    """Five steps of ``rule`` and of ``torch.optim`` on the same parameters and gradients agree."""
    shapes = [(3, 2), (4,)]
    generator = torch.Generator().manual_seed(0)
    start = random_tensors(shapes, generator)
    ours = [p.clone() for p in start]
    theirs = [torch.nn.Parameter(p.clone()) for p in start]
    reference = reference_class(theirs, **reference_options)
    state = rule.init(ours)
    for _ in range(5):
        grads = random_tensors(shapes, generator)
        kept = [g.clone() for g in grads]
        for parameter, step in zip(ours, rule.direction(grads, state, ours)):
            parameter.add_(step)
        assert all(torch.equal(g, k) for g, k in zip(grads, kept)), "a rule must not modify the gradients"
        for parameter, grad in zip(theirs, grads):
            parameter.grad = grad.clone()
        reference.step()
        for mine, torch_value in zip(ours, theirs):
            torch.testing.assert_close(mine, torch_value.detach(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("momentum", [0.0, 0.9, 0.5])
def test_sgd_matches_torch(momentum):
    assert_rule_matches(SGD(lr=0.05, momentum=momentum), torch.optim.SGD, lr=0.05, momentum=momentum)


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.8), (0.0, 0.99)])
def test_adam_matches_torch(betas):
    rule = Adam(lr=0.01, betas=betas, eps=1e-8)
    assert_rule_matches(rule, torch.optim.Adam, lr=0.01, betas=betas, eps=1e-8)


@pytest.mark.parametrize("name, reference", [("gda", torch.optim.SGD), ("adam", torch.optim.Adam)])
def test_weight_decay_in_the_gradient_matches_torch_coupled_weight_decay(name, reference):
    """The scheme adds lambda theta to the gradient (the L2 term of the loss); with the rule on top,
    five simultaneous steps on xy equal torch.optim's with ``weight_decay``."""
    game = ScalarGame(x0=1.0, y0=2.0)
    optimizer = optimizer_for(game, name, lr=0.05, momentum=0.5 if name == "gda" else 0.0, weight_decay=0.1)
    x, y = (torch.nn.Parameter(torch.tensor(v, dtype=torch.float64)) for v in (1.0, 2.0))
    options = {"momentum": 0.5} if name == "gda" else {}
    theirs = [reference([p], lr=0.05, weight_decay=0.1, **options) for p in (x, y)]
    for _ in range(5):
        optimizer.step(no_batch)
        x.grad, y.grad = y.detach().clone(), -x.detach().clone()
        for torch_optimizer in theirs:
            torch_optimizer.step()
        assert game.point() == pytest.approx((x.item(), y.item()), abs=1e-12)


def test_sgd_by_hand():
    # lr .5, momentum .9, theta = 2, gradients with a weight-decay term .1 theta added by hand:
    # g1 = 1:  d = 1 + .1*2 = 1.2,          b = 1.2,                u = -.6   -> theta = 1.4
    # g2 = -1: d = -1 + .1*1.4 = -.86,      b = .9*1.2 - .86 = .22, u = -.11  -> theta = 1.29
    rule = SGD(lr=0.5, momentum=0.9)
    theta = [torch.tensor([2.0], dtype=torch.float64)]
    state = rule.init(theta)
    for gradient, expected in [(1.0, 1.4), (-1.0, 1.29)]:
        grads = [torch.tensor([gradient], dtype=torch.float64) + 0.1 * theta[0]]
        theta[0].add_(rule.direction(grads, state, theta)[0])
        assert theta[0].item() == pytest.approx(expected, abs=1e-12)


def test_adam_first_step_has_length_lr_whatever_the_gradient():
    # m1 = (1 - b1) g and v1 = (1 - b2) g^2, so after bias correction m^ = g, v^ = g^2 and
    # u1 = -lr g / (|g| + eps) = -lr sign(g) when eps << |g|; a zero gradient gives no step.
    rule = Adam(lr=0.3, betas=(0.9, 0.999), eps=1e-12)
    params = [torch.zeros(5, dtype=torch.float64)]
    grads = [torch.tensor([3.0, -2e-3, 5e4, -7.0, 0.0], dtype=torch.float64)]
    step = rule.direction(grads, rule.init(params), params)[0]
    torch.testing.assert_close(step, torch.tensor([-0.3, 0.3, -0.3, 0.3, 0.0], dtype=torch.float64),
                               rtol=0, atol=1e-9)


def test_adam_second_step_by_hand():
    # betas (.5, .5), lr .1, g1 = 2, g2 = 1: m2 = .5*.5*2 + .5*1 = 1, v2 = .5*.5*4 + .5*1 = 1.5,
    # c2 = 1 - .25 = .75, u2 = -.1 (1/.75) / sqrt(1.5/.75) = -.1 / (.75 sqrt 2)
    rule = Adam(lr=0.1, betas=(0.5, 0.5), eps=1e-12)
    params = [torch.zeros(1, dtype=torch.float64)]
    state = rule.init(params)
    rule.direction([torch.tensor([2.0], dtype=torch.float64)], state, params)
    step = rule.direction([torch.tensor([1.0], dtype=torch.float64)], state, params)[0]
    assert step.item() == pytest.approx(-0.1 / (0.75 * 2**0.5), abs=1e-12)
    assert state["step"] == 2


@pytest.mark.parametrize("rule", [SGD(lr=0.1, momentum=0.9), Adam(lr=0.1)], ids=["sgd", "adam"])
def test_steps_and_state_carry_no_autograd_history(rule):
    """The parameters require grad; nothing the rule keeps may track them."""
    params = [torch.ones(2, requires_grad=True)]
    state = rule.init(params)
    for _ in range(2):
        steps = rule.direction([torch.ones(2)], state, params)
    kept = [t for value in state.values() if isinstance(value, list) for t in value]
    assert kept and not any(t.requires_grad for t in [*steps, *kept])

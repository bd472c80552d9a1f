"""Ensembles: each member follows its own separate run, per-member step sizes and reports,
divergence freezing, batch norm per member, bit-for-bit resume."""
from __future__ import annotations

from functools import partial

import pytest
import torch

from ali_opt.batchnorm import running_statistics_frozen
from ali_opt.runtime.checkpoint import load_checkpoint
from ali_opt.ensemble import Ensemble, Stacked
from ali_opt.ensemble_training import EnsembleTraining, member_scalars
from ali_opt.toy_games import build_toy_game
from optimizers import OPTIMIZERS, build_optimizer

MEMBERS = 4
STEPS = 3
TINY_MIXTURE = {"hidden": 8, "batch_size": 16, "eval_size": 16}
GAMES = {
    # game -> (member i's game, step sizes of the members)
    "bilinear": (lambda i: build_toy_game("bilinear", dim=3, seed=i), [0.1, 0.15, 0.2, 0.25]),
    "dirac": (lambda i: build_toy_game("dirac", theta0=1.0 + 0.2 * i, psi0=0.5), [0.1, 0.15, 0.2, 0.25]),
    # float64: in float32 a batched matmul rounds differently from a single one, and Adam rescales
    # gradient entries near 0 to full steps, which turns rounding into differences of about 1e-5
    "mixture": (lambda i: build_toy_game("mixture", seed=i, dtype="float64", **TINY_MIXTURE), [1e-2, 2e-2, 3e-2, 4e-2]),
}
BATCH_SEEDS = [10 + i for i in range(MEMBERS)]


def ensemble_of(game: str) -> Ensemble:
    build, _ = GAMES[game]
    return Ensemble([build(i) for i in range(MEMBERS)], batch_seeds=BATCH_SEEDS)


def relative_error(found: torch.Tensor, expected: torch.Tensor) -> float:
    return ((found - expected).abs().max() / expected.abs().max().clamp_min(1e-30)).item()


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("game", GAMES)
def test_each_member_follows_its_separate_run(game, name):
    """Member i of an ensemble with per-member step sizes and EMA averaging equals a separate run of
    game i (step size i, batches from its own seed): live parameters, averages, losses, gradient norms."""
    build, step_sizes = GAMES[game]
    config = {"name": name, "average": "ema", "ema_beta": 0.5}
    ensemble = ensemble_of(game)
    training = EnsembleTraining(ensemble, build_optimizer(ensemble, {**config, "lr": step_sizes}))
    ensemble_reports = [training.step() for _ in range(STEPS)]
    for i in range(MEMBERS):
        alone = build(i)
        optimizer = build_optimizer(alone, {**config, "lr": step_sizes[i]})
        sample = partial(alone.sample_batch, torch.Generator().manual_seed(BATCH_SEEDS[i]))
        reports = [optimizer.step(sample) for _ in range(STEPS)]
        member = ensemble.member_state(i)
        for parameter_name, parameter in alone.named_parameters():
            assert relative_error(member[parameter_name], parameter.detach()) < 1e-6, parameter_name
        for player in alone.players:
            for found, expected in zip(training.optimizer.averaged[player], optimizer.averaged[player]):
                assert relative_error(found[i], expected) < 1e-6
        for found, expected in zip(ensemble_reports, reports):
            scalars = member_scalars(found, ensemble)
            for player in alone.players:
                assert scalars[f"loss_{player}"][i] == pytest.approx(expected.losses[player].item(),
                                                                    rel=1e-6, abs=1e-12)
                assert scalars[f"grad_norm_{player}"][i] == pytest.approx(expected.grad_norms[player].item(),
                                                                         rel=1e-6, abs=1e-12)
    assert training.diverged_at == [None] * MEMBERS


def test_players_own_the_stacked_parameters():
    ensemble = ensemble_of("mixture")
    owned = ensemble.player_parameters()
    assert list(owned) == ["discriminator", "generator"]
    assert all(name.startswith("stacked.discriminator") for name in owned["discriminator"])
    assert all(p.shape[0] == MEMBERS for params in owned.values() for p in params.values())


def test_a_shared_batch_reaches_every_member_and_losses_sum():
    members = [build_toy_game("mixture", seed=i, **TINY_MIXTURE) for i in range(MEMBERS)]
    ensemble = Ensemble(members)
    batch = members[0].sample_batch(torch.Generator().manual_seed(0))
    output = ensemble(batch)
    separate = [game(batch).losses["generator"] for game in members]
    torch.testing.assert_close(output.metrics["loss_generator"], torch.stack(separate).detach())
    torch.testing.assert_close(output.losses["generator"], torch.stack(separate).sum())
    stacked = ensemble(Stacked(tuple(torch.stack([part] * MEMBERS) for part in batch)))
    torch.testing.assert_close(stacked.losses["generator"], output.losses["generator"])


def test_a_diverging_member_is_frozen_and_the_others_go_on():
    """gda with a huge step on the bilinear game overflows member 2 at step 2 (its first step is finite);
    it stays at the point step 2 started from, marked, while the others match their separate runs."""
    step_sizes = [0.1, 0.2, 1e300, 0.3]
    ensemble = ensemble_of("bilinear")
    training = EnsembleTraining(ensemble, build_optimizer(ensemble, {"name": "gda", "lr": step_sizes}))
    training.step()
    after_first = ensemble.member_state(2)["x"].clone()
    for _ in range(4):
        training.step()
    assert training.diverged_at == [None, None, 2, None]
    assert torch.equal(ensemble.member_state(2)["x"], after_first)
    for i in (0, 1, 3):
        alone = GAMES["bilinear"][0](i)
        optimizer = build_optimizer(alone, {"name": "gda", "lr": step_sizes[i]})
        for _ in range(5):
            optimizer.step(lambda: None)
        torch.testing.assert_close(ensemble.member_state(i)["x"], alone.x.detach(), rtol=1e-12, atol=0)


def test_per_member_step_sizes_reject_a_bad_value():
    from ali_opt.errors import ConfigError
    with pytest.raises(ConfigError, match=r"optimizer.lr\[1\]"):
        build_optimizer(ensemble_of("bilinear"), {"name": "gda", "lr": [0.1, -1.0, 0.1, 0.1]})


def test_games_of_different_shapes_are_refused():
    with pytest.raises(ValueError, match="game 1 has other parameters"):
        Ensemble([build_toy_game("bilinear", dim=2), build_toy_game("bilinear", dim=3)])


def test_batch_norm_statistics_move_per_member():
    """The paper's 2-D encoder (batch norm) in an ensemble: member i's running statistics are those of
    member i's network run alone on member i's batch."""
    from ali_opt.ali import ALIGame
    from ali_opt.models import build_models

    def game(seed):
        torch.manual_seed(seed)
        models = build_models("mixture_paper", width=0.02)
        return ALIGame(models.encoder, models.decoder, models.discriminator, models.latent_shape)

    from ali_opt.ali import ALIBatch
    ensemble = Ensemble([game(i) for i in range(3)])
    x = torch.randn(3, 10, 2)
    batch = Stacked(ALIBatch(x, torch.randn(3, 10, 2), torch.randn(3, 10, 2), None))
    ensemble(batch)
    for i in range(3):
        alone = game(i)
        alone.encoder(x[i])
        state = ensemble.member_state(i)
        for name in ("running_mean", "running_var"):
            key = f"encoder.net.1.{name}"
            torch.testing.assert_close(state[key], alone.state_dict()[key])
        neighbour = ensemble.member_state((i + 1) % 3)
        assert not torch.equal(state["encoder.net.1.running_mean"], neighbour["encoder.net.1.running_mean"])
    ensemble.eval()  # evaluation mode reaches the members: running statistics are used and stay put
    before = ensemble.member_state(1)["encoder.net.1.running_mean"].clone()
    mu_means = ensemble(batch).metrics["mu_mean"]
    assert torch.equal(ensemble.member_state(1)["encoder.net.1.running_mean"], before)
    alone = ensemble.member(1).eval()
    torch.testing.assert_close(mu_means[1], alone.encoder(x[1])[0].mean())
    ensemble.train()
    assert not torch.allclose(ensemble(batch).metrics["mu_mean"][1], mu_means[1])  # batch statistics
    before = ensemble.member_state(2)["encoder.net.1.running_mean"].clone()
    with running_statistics_frozen(ensemble):  # an extrapolated point: batch statistics, nothing moves
        ensemble(batch)
    assert torch.equal(ensemble.member_state(2)["encoder.net.1.running_mean"], before)
    ensemble(batch)
    assert not torch.equal(ensemble.member_state(2)["encoder.net.1.running_mean"], before)


def _resumable(tmp_path, config):
    ensemble = ensemble_of("mixture")
    return EnsembleTraining(ensemble, build_optimizer(ensemble, config))


@pytest.mark.parametrize("config", [{"name": "extra_adam", "lr": 1e-2, "average": "ema"},
                                    {"name": "optimistic", "lr": [1e-2, 2e-2, 3e-2, 4e-2], "average": "uniform"}])
def test_resume_continues_bit_for_bit(tmp_path, config):
    straight = _resumable(tmp_path, config)
    for _ in range(6):
        straight.step()
    first = _resumable(tmp_path, config)
    for _ in range(3):
        first.step()
    first.checkpoint(tmp_path / "checkpoint.pt")
    torch.manual_seed(123)  # the resumed run must not depend on the RNG state it starts in
    resumed = _resumable(tmp_path, config)
    resumed.restore(load_checkpoint(tmp_path / "checkpoint.pt"))
    for _ in range(3):
        resumed.step()
    assert resumed.steps_done == 6
    found, expected = resumed.ensemble.state_dict(), straight.ensemble.state_dict()
    generators = "_extra_state"
    assert all(torch.equal(a, b) for a, b in zip(found.pop(generators)["batch_generators"],
                                                 expected.pop(generators)["batch_generators"]))
    assert found.keys() == expected.keys() and all(torch.equal(found[key], expected[key]) for key in found)
    for player, average in straight.optimizer.averaged.items():
        assert all(torch.equal(a, b) for a, b in zip(resumed.optimizer.averaged[player], average))


def _paper_game(seed: int, model: str = "mixture_paper"):
    """The paper's 2-D networks (batch norm; dropout 0.2 and 0.5 in the discriminator), narrow; or, with
    ``model="mixture_grid25"``, the final script's (an encoder that takes noise as an input, no dropout)."""
    from ali_opt.ali import ALIGame
    from ali_opt.models import build_models
    torch.manual_seed(seed)
    models = build_models(model, width=0.02)
    return ALIGame(models.encoder, models.decoder, models.discriminator, models.latent_shape)


def _draw_paper_batch(game, generator: torch.Generator):
    """What a run draws from its batch generator: data, then epsilon, z and the dropout seed."""
    return game.draw_batch(torch.randn(16, 2, generator=generator), generator)


@pytest.fixture
def float64():
    """ALI in float64: a batched matmul then rounds like a single one to about 1e-15."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


@pytest.mark.parametrize("config, model", [({"name": "extra_adam", "resample": False, "lr": 1e-3}, "mixture_paper"),
                                           ({"name": "alt_adam", "lr": 1e-3}, "mixture_paper"),
                                           ({"name": "adam", "lr": [1e-3, 2e-3, 3e-3]}, "mixture_paper"),
                                           ({"name": "extra_adam", "resample": False, "lr": 1e-3}, "mixture_grid25")])
def test_ali_members_with_dropout_follow_their_separate_runs(float64, config, model):
    """ALI with dropout on: member i reuses every draw of its batch, masks included, and those masks are
    run i's (same batch seed); extragradient's second evaluation of a batch sees the same masks. The
    noise-input encoder of mixture_grid25 reuses its epsilon (of x's shape) the same way."""
    members = 3
    make_game = partial(_paper_game, model=model)
    ensemble = Ensemble([make_game(i) for i in range(members)], batch_seeds=BATCH_SEEDS[:members],
                        draw=partial(_draw_paper_batch, make_game(0)))
    batch = ensemble.sample_batch()
    first, again = ensemble(batch).metrics["loss_d"], ensemble(batch).metrics["loss_d"]
    assert torch.equal(first, again)  # the same stacked batch twice: the same masks
    generators = [torch.Generator().manual_seed(seed) for seed in BATCH_SEEDS[:members]]
    alone = [make_game(i)(_draw_paper_batch(make_game(i), generator)).losses["d"]
             for i, generator in enumerate(generators)]
    torch.testing.assert_close(first, torch.stack(alone).detach(), rtol=1e-12, atol=0)

    ensemble = Ensemble([make_game(i) for i in range(members)], batch_seeds=BATCH_SEEDS[:members],
                        draw=partial(_draw_paper_batch, make_game(0)))
    training = EnsembleTraining(ensemble, build_optimizer(ensemble, config))
    reports = [training.step() for _ in range(STEPS)]
    for i in range(members):
        game = make_game(i)
        lr = config["lr"][i] if isinstance(config["lr"], list) else config["lr"]
        optimizer = build_optimizer(game, {**config, "lr": lr})
        sample = partial(_draw_paper_batch, game, torch.Generator().manual_seed(BATCH_SEEDS[i]))
        expected = [optimizer.step(sample) for _ in range(STEPS)]
        for found, report in zip(reports, expected):
            assert member_scalars(found, ensemble)["loss_d"][i] == pytest.approx(report.losses["d"].item(), rel=1e-10)
        state = ensemble.member_state(i)
        for name, value in game.state_dict().items():
            torch.testing.assert_close(state[name], value, rtol=1e-9, atol=1e-12, msg=name)

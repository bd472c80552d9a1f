"""Options written once: each rule, scheme and wrapper declares an option's default and check in one
class attribute; the constructor takes it by keyword and checks it, as torch.optim's optimizers do, and
the registry completes and checks a config with the declarations of the optimizer it names."""
from __future__ import annotations

import re

import pytest
import torch

from ali_opt.errors import ConfigError, check_nonnegative
from ali_opt.toy_games import build_toy_game
from optimizers import DEFAULTS, OPTIMIZERS, build_optimizer, defaults_for, options_for, validate_config
from optimizers import registry
from optimizers.acgd import ACGDStepSizes
from optimizers.averaging import Averaged
from optimizers.base import GameOptimizer
from optimizers.cgd import CompetitiveGradientDescent
from optimizers.consensus import Consensus
from optimizers.lookahead import Lookahead
from optimizers.options import REQUIRED, Option, OptionOwner, options_of
from optimizers.rules import SGD, Adam
from optimizers.sga import SymplecticGradientAdjustment
from optimizers.simultaneous import Simultaneous
from tests.helpers.toy_games import ScalarGame, no_batch

PINNED_DEFAULTS = {
    "name": "adam", "lr": 1e-4, "betas": (0.9, 0.999), "eps": 1e-8, "momentum": 0.0, "weight_decay": 0.0,
    "d_steps": 1, "resample": True, "first_step": "double", "average": "none", "ema_beta": 0.999, "gamma": 10.0,
    "sga_lambda": 1.0, "sga_align": True, "sga_align_norm": "tensors", "cgd_tol": 1e-6, "cgd_atol": 1e-10,
    "cgd_max_iter": None, "cgd_solve_for": "alternate", "acgd_beta": 0.99, "acgd_eps": 1e-5, "lookahead_k": 0,
    "lookahead_alpha": 0.5,
}
"""``DEFAULTS`` as it was written out by hand before the owners declared their options: run configs
recorded since then hold these values."""

OWNERS = sorted({*(cls for pair in OPTIMIZERS.values() for cls in pair), *registry.WRAPPERS}, key=lambda c: c.__name__)


def test_the_declared_defaults_are_those_written_out_before():
    assert DEFAULTS == PINNED_DEFAULTS
    assert {key: type(value) for key, value in DEFAULTS.items()} == {key: type(v) for key, v in PINNED_DEFAULTS.items()}
    assert list(DEFAULTS)[:4] == ["name", "lr", "momentum", "betas"]  # the rules' options first (SGD's, then Adam's)


def test_the_defaults_of_an_optimizer_are_its_rule_scheme_and_wrappers():
    assert defaults_for("alt_gda") == {
        "name": "alt_gda", "lr": 1e-4, "momentum": 0.0, "weight_decay": 0.0, "d_steps": 1, "resample": True,
        "lookahead_k": 0, "lookahead_alpha": 0.5, "average": "none", "ema_beta": 0.999}
    assert defaults_for("acgd") == {
        "name": "acgd", "lr": 1e-4, "acgd_beta": 0.99, "acgd_eps": 1e-5, "weight_decay": 0.0, "cgd_tol": 1e-6,
        "cgd_atol": 1e-10, "cgd_max_iter": None, "cgd_solve_for": "alternate", "lookahead_k": 0,
        "lookahead_alpha": 0.5, "average": "none", "ema_beta": 0.999}
    for name in OPTIMIZERS:
        assert set(defaults_for(name)) <= set(DEFAULTS)
        assert all(option.doc for option in options_for(name).values())


@pytest.mark.parametrize("owner", OWNERS, ids=lambda cls: cls.__name__)
def test_an_instance_holds_each_declared_option_as_an_attribute(owner):
    """Built with nothing but what the constructor needs, every option holds its declared default."""
    game = bilinear()
    if issubclass(owner, GameOptimizer):
        rule = ACGDStepSizes if owner.__name__.startswith("Adaptive") else SGD
        built = owner(game, {player: rule(lr=0.1) for player in game.players})
    elif owner in registry.WRAPPERS:
        built = owner(Simultaneous(game, sgd_rules(game)))
    else:
        built = owner(lr=0.1)
    expected = {name: option.default for name, option in options_of(owner).items() if name != "lr"}
    if "weight_decay" in expected:
        expected["weight_decay"] = {player: 0.0 for player in game.players}  # one value per player, once built
    assert {name: getattr(built, name) for name in expected} == expected


def bilinear():
    return build_toy_game("bilinear", dim=2)


def sgd_rules(game, **options):
    return {player: SGD(lr=0.1, **options) for player in game.players}


@pytest.mark.parametrize("build, message", [
    (lambda: Adam(lr=0.1, betas=(0.9, 1.0)), "betas[1]=1.0 is not valid; it must lie in [0, 1)"),
    (lambda: Adam(lr=0.1, betas=(0.9,)), "betas=(0.9,) is not valid; it must be a pair [beta1, beta2], each in [0, 1)"),
    (lambda: Adam(lr=0.1, eps=0), "eps=0 is not valid; it must be a positive number"),
    (lambda: SGD(lr=-0.1), "lr=-0.1 is not valid; it must be a positive number"),
    (lambda: SGD(lr=[0.1, -1.0]), "lr[1]=-1.0 is not valid; it must be a positive number"),
    (lambda: SGD(lr={"x": 0.1, "y": 0.1}), "lr={'x': 0.1, 'y': 0.1} is not valid; it must be a positive number"),
    (lambda: SGD(lr=0.1, momentum=1.0), "momentum=1.0 is not valid; it must lie in [0, 1)"),
    (lambda: ACGDStepSizes(lr=0.1, acgd_beta=1.0), "acgd_beta=1.0 is not valid; it must lie in [0, 1)"),
    (lambda: Consensus(bilinear(), sgd_rules(bilinear()), gamma=-1.0),
     "gamma=-1.0 is not valid; it must be a number >= 0"),
    (lambda: CompetitiveGradientDescent(bilinear(), sgd_rules(bilinear()), cgd_solve_for="both"),
     "cgd_solve_for='both' is not valid; choose one of: alternate, first, second"),
    (lambda: SymplecticGradientAdjustment(bilinear(), sgd_rules(bilinear()), sga_align="yes"),
     "sga_align='yes' is not valid; it must be true or false"),
    (lambda: Simultaneous(bilinear(), sgd_rules(bilinear()), weight_decay={"x": 0.1}),
     "weight_decay={'x': 0.1} is not valid; give one number, or one per player: y, x"),
    (lambda: Simultaneous(bilinear(), sgd_rules(bilinear()), weight_decay={"x": 0.1, "y": -1}),
     "weight_decay.y=-1 is not valid; it must be a number >= 0"),
    (lambda: Lookahead(Simultaneous(bilinear(), sgd_rules(bilinear())), lookahead_k=5, lookahead_alpha=1.5),
     "lookahead_alpha=1.5 is not valid; it must lie in (0, 1)"),
    (lambda: Lookahead(Simultaneous(bilinear(), sgd_rules(bilinear())), lookahead_k=-1),
     "lookahead_k=-1 is not valid; it must be 0 (off) or a positive integer"),
    (lambda: Averaged(Simultaneous(bilinear(), sgd_rules(bilinear())), average="polyak"),
     "average='polyak' is not valid; choose one of: none, uniform, ema"),
])
def test_a_rule_scheme_or_wrapper_built_directly_refuses_a_bad_option_in_one_line(build, message):
    with pytest.raises(ConfigError) as error:
        build()
    assert str(error.value) == message


@pytest.mark.parametrize("build, message", [
    (lambda: Consensus(bilinear(), sgd_rules(bilinear()), gama=1.0),
     "Consensus takes no option 'gama'; its options: weight_decay, gamma"),
    (lambda: Adam(lr=0.1, beta1=0.5), "Adam takes no option 'beta1'; its options: lr, betas, eps"),
    (lambda: Averaged(Simultaneous(bilinear(), sgd_rules(bilinear())), lookahead_k=2),
     "Averaged takes no option 'lookahead_k'; its options: average, ema_beta"),
])
def test_an_unknown_keyword_is_refused_naming_the_owners_options(build, message):
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        build()


def test_an_option_without_a_default_must_be_given():
    class Needs(OptionOwner):
        size = Option(REQUIRED, check_nonnegative, "a size")

        def __init__(self, **options):
            self._take_options(options)

    assert Needs(size=2).size == 2
    with pytest.raises(TypeError, match="^Needs needs option 'size'$"):
        Needs()


@pytest.mark.parametrize("config, bad", [
    ({"betas": (0.9, 1.0)}, "betas"),
    ({"name": "consensus", "gamma": -1.0}, "gamma"),
    ({"name": "cgd", "cgd_solve_for": "both"}, "cgd_solve_for"),
    ({"lookahead_k": 5, "lookahead_alpha": 1.5}, "lookahead_alpha"),
    ({"momentum": 1.0}, "momentum"),
    ({"name": "acgd", "acgd_beta": 1.0}, "acgd_beta"),
])
def test_the_registry_says_what_the_owner_says_with_the_key_prefixed(config, bad):
    """One check per option, the owner's: through the registry its message names ``optimizer.<key>``, whether
    the named optimizer takes the option (consensus, gamma) or not (gda, betas: checked all the same)."""
    with pytest.raises(ConfigError) as through_registry:
        build_optimizer(bilinear(), {"name": "gda", **config})
    message = str(through_registry.value)
    assert message.startswith(f"optimizer.{bad}")
    owner = next(owner for owner in OWNERS if bad in options_of(owner))
    with pytest.raises(ConfigError, match=f"^{re.escape(message.removeprefix('optimizer.'))}$"):
        options_of(owner)[bad].parse(bad, config[bad])


def test_an_unknown_key_or_name_is_refused_naming_what_is_valid():
    with pytest.raises(ConfigError, match=r"^optimizer\.gama is not an optimizer option; valid options: name, lr, "
                                          r"momentum, betas, .*, gamma, .*, ema_beta$"):
        validate_config({"name": "consensus", "gama": 1.0}, ("d", "g"))
    with pytest.raises(ConfigError, match=r"^optimizer\.name='sgd' is not valid; choose one of: gda, adam, .*, acgd$"):
        validate_config({"name": "sgd"}, ("d", "g"))


def test_a_config_is_completed_with_the_named_optimizers_options_only():
    """The keys of other optimizers' options are checked and left out; ``"default"`` is the owner's default."""
    checked = validate_config({**DEFAULTS, "name": "consensus", "gamma": "default", "betas": [0.5, 0.9]}, ("d", "g"))
    assert checked == {**defaults_for("consensus"), "gamma": 10.0}
    assert validate_config({"name": "gda", "lr": 0.5}, ("d", "g")) == {**defaults_for("gda"), "lr": 0.5}


def test_checks_normalise_values_built_directly_as_through_the_registry():
    assert Adam(lr=0.1, betas=[0.5, 0.9]).betas == (0.5, 0.9)
    game = bilinear()
    assert CompetitiveGradientDescent(game, sgd_rules(game), cgd_max_iter="auto").cgd_max_iter is None
    assert validate_config({"betas": [0.5, 0.9]}, game.players)["betas"] == (0.5, 0.9)
    assert validate_config({"name": "cgd", "cgd_max_iter": "auto"}, game.players)["cgd_max_iter"] is None


def test_a_valid_option_built_directly_steps_as_through_the_registry():
    game, twin = bilinear(), bilinear()
    direct = Lookahead(Consensus(game, sgd_rules(game, momentum=0.5), gamma=2.0, weight_decay=0.1),
                       lookahead_k=2, lookahead_alpha=0.4)
    built = build_optimizer(twin, {"name": "consensus", "lr": 0.1, "momentum": 0.5, "gamma": 2.0,
                                   "weight_decay": 0.1, "lookahead_k": 2, "lookahead_alpha": 0.4})
    for _ in range(3):
        direct.step(no_batch)
        built.step(no_batch)
    assert all(map(torch.equal, game.parameters(), twin.parameters()))
    assert not torch.equal(next(game.parameters()), next(bilinear().parameters()))


class DampedGradient(GameOptimizer):
    """Each player steps along (1 + gamma) times its gradient: a scheme with a ``gamma`` of its own."""

    gamma = Option(0.5, check_nonnegative, "damped: the extra weight of the gradient")

    def step(self, sample):
        output, grads = self._evaluate(sample())
        self._add(self._directions({p: [(1 + self.gamma) * g for g in values] for p, values in grads.items()}))
        return self._report(output, grads)


def test_two_schemes_give_one_option_name_their_own_defaults(monkeypatch):
    """Consensus's gamma defaults to 10, DampedGradient's to 0.5: a config that leaves gamma to its default,
    or holds every key of the run defaults, gets each scheme's own."""
    monkeypatch.setitem(OPTIMIZERS, "damped", (DampedGradient, SGD))
    defaults = registry.every_default()
    assert defaults["gamma"] == registry.OWN_DEFAULT == "default"
    assert {key: value for key, value in defaults.items() if key != "gamma"} == \
        {key: value for key, value in DEFAULTS.items() if key != "gamma"}
    for config in ({}, defaults):
        assert validate_config({**config, "name": "damped"}, ("d", "g"))["gamma"] == 0.5
        assert validate_config({**config, "name": "consensus"}, ("d", "g"))["gamma"] == 10.0
    game = ScalarGame(x0=1.0, y0=2.0)  # f = xy: x's gradient y = 2, y's -x = -1
    build_optimizer(game, {**defaults, "name": "damped", "lr": 0.1}).step(no_batch)
    assert game.point() == pytest.approx((1 - 0.1 * 1.5 * 2, 2 + 0.1 * 1.5 * 1), abs=1e-15)  # (0.7, 2.15)


def test_an_optimizer_whose_parts_declare_one_name_differently_is_refused(monkeypatch):
    class EpsScheme(DampedGradient):
        eps = Option(0.1, check_nonnegative, "a scheme's own eps, which Adam's eps would shadow")

    monkeypatch.setitem(OPTIMIZERS, "eps_adam", (EpsScheme, Adam))
    with pytest.raises(TypeError, match="optimizer 'eps_adam': EpsScheme and another of its parts declare option 'eps'"):
        validate_config({"name": "eps_adam"}, ("d", "g"))


def test_a_rule_is_rebuilt_with_changed_options_and_shows_them():
    rule = Adam(lr=0.1, betas=[0.5, 0.9])
    assert repr(rule.replace(lr=1.0)) == "Adam(lr=1.0, betas=(0.5, 0.9), eps=1e-08)"
    assert rule.lr == 0.1
    with pytest.raises(ConfigError, match="^lr=0 is not valid"):
        rule.replace(lr=0)


def test_per_member_step_sizes_are_checked_by_the_rule():
    assert torch.equal(SGD(lr=torch.tensor([0.1, 0.2])).lr, torch.tensor([0.1, 0.2]))
    with pytest.raises(ConfigError, match=r"^lr=tensor\(0.1000\) is not valid; give a number, or a non-empty list"):
        SGD(lr=torch.tensor(0.1))
    with pytest.raises(ConfigError, match=r"^lr=\[\] is not valid; give a number, or a non-empty list"):
        SGD(lr=[])

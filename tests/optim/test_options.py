"""Options owned by their users: each rule, scheme and wrapper checks its own options, as torch.optim's
optimizers do, and the registry gathers their defaults and checks a config once."""
from __future__ import annotations

import copy
import json
import pickle
import re

import pytest
import torch

import optimizers.options
import optimizers.registry
from ali_opt.errors import ConfigError
from ali_opt.toy_games import build_toy_game
from optimizers import DEFAULTS, OPTIMIZERS, build_optimizer, validate_config
from optimizers.acgd import ACGDStepSizes
from optimizers.averaging import Averaged
from optimizers.cgd import CompetitiveGradientDescent
from optimizers.consensus import Consensus
from optimizers.lookahead import Lookahead
from optimizers.options import defaults_of, options_of
from optimizers.registry import OPTIONS, WRAPPERS, CheckedConfig
from optimizers.rules import SGD, Adam
from optimizers.sga import SymplecticGradientAdjustment
from optimizers.simultaneous import Simultaneous
from tests.helpers.toy_games import no_batch

PINNED_DEFAULTS = [
    ("name", "adam"), ("lr", 1e-4), ("betas", (0.9, 0.999)), ("eps", 1e-8), ("momentum", 0.0),
    ("weight_decay", 0.0), ("d_steps", 1), ("resample", True), ("first_step", "double"), ("average", "none"),
    ("ema_beta", 0.999), ("gamma", 10.0), ("sga_lambda", 1.0), ("sga_align", True), ("sga_align_norm", "tensors"),
    ("cgd_tol", 1e-6), ("cgd_atol", 1e-10), ("cgd_max_iter", None), ("cgd_solve_for", "alternate"),
    ("acgd_beta", 0.99), ("acgd_eps", 1e-5), ("lookahead_k", 0), ("lookahead_alpha", 0.5),
]
"""``DEFAULTS`` as it was written out by hand before the owners declared their options."""

OWNERS = sorted({*(cls for pair in OPTIMIZERS.values() for cls in pair), *WRAPPERS}, key=lambda cls: cls.__name__)


def test_defaults_gathered_from_the_owners_are_those_written_out_before():
    assert DEFAULTS == dict(PINNED_DEFAULTS)
    assert {key: type(value) for key, value in DEFAULTS.items()} == {key: type(v) for key, v in PINNED_DEFAULTS}
    # the order too: config labels (ali_opt.records.runs.DISTINGUISHING_KEYS) list the keys in it
    assert list(DEFAULTS) == [key for key, _ in PINNED_DEFAULTS] == list(OPTIONS)
    assert all(option.doc for option in OPTIONS.values())


@pytest.mark.parametrize("owner", OWNERS, ids=lambda cls: cls.__name__)
def test_each_owner_declares_exactly_its_constructor_arguments_and_their_defaults_are_the_registrys(owner):
    defaults = defaults_of(owner)  # raises TypeError if options and arguments differ
    assert set(defaults) == set(options_of(owner))
    for name, default in defaults.items():
        assert OPTIONS[name] is options_of(owner)[name]
        if default is not optimizers.options.NO_DEFAULT:
            assert DEFAULTS[name] == default


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


@pytest.mark.parametrize("config, bad", [
    ({"betas": (0.9, 1.0)}, "betas"),
    ({"name": "consensus", "gamma": -1.0}, "gamma"),
    ({"name": "cgd", "cgd_solve_for": "both"}, "cgd_solve_for"),
    ({"lookahead_k": 5, "lookahead_alpha": 1.5}, "lookahead_alpha"),
    ({"momentum": 1.0}, "momentum"),
    ({"name": "acgd", "acgd_beta": 1.0}, "acgd_beta"),
])
def test_the_registry_says_what_the_owner_says_with_the_key_prefixed(config, bad):
    """One check per option: through the registry the message is the owner's, naming ``optimizer.<key>``."""
    with pytest.raises(ConfigError) as through_registry:
        build_optimizer(bilinear(), {"name": "gda", **config})
    message = str(through_registry.value)
    assert message.startswith(f"optimizer.{bad}")
    with pytest.raises(ConfigError, match=f"^{re.escape(message.removeprefix('optimizer.'))}$"):
        optimizers.options.check_option(OPTIONS[bad], bad, config[bad])


def test_checks_normalise_values_built_directly_as_through_the_registry():
    assert Adam(lr=0.1, betas=[0.5, 0.9]).betas == (0.5, 0.9)
    game = bilinear()
    assert CompetitiveGradientDescent(game, sgd_rules(game), cgd_max_iter="auto").cgd_max_iter is None
    assert validate_config({"betas": [0.5, 0.9], "cgd_max_iter": "auto"}, game.players)["betas"] == (0.5, 0.9)


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


def count_checks(monkeypatch) -> list[str]:
    """The keys checked from now on (every check goes through ``check_option``)."""
    keys = []
    real = optimizers.options.check_option

    def counting(option, key, value, players=None):
        keys.append(key)
        return real(option, key, value, players)

    monkeypatch.setattr(optimizers.options, "check_option", counting)
    monkeypatch.setattr(optimizers.registry, "check_option", counting)
    return keys


@pytest.mark.parametrize("name", ["consensus_adam", "acgd", "alt_gda"])
def test_building_from_a_config_checks_each_option_once(monkeypatch, name):
    keys = count_checks(monkeypatch)
    build_optimizer(bilinear(), {"name": name, "lr": {"x": 0.1, "y": 0.2}, "average": "ema", "lookahead_k": 3})
    assert sorted(keys) == sorted(f"optimizer.{key}" for key in DEFAULTS)


def test_a_checked_config_is_built_without_checking_it_again(monkeypatch):
    game = bilinear()
    config = validate_config({"name": "extra_adam", "betas": [0.5, 0.9], "average": "uniform"}, game.players)
    keys = count_checks(monkeypatch)
    optimizer = build_optimizer(game, config)
    assert keys == []
    assert optimizer.inner.rules["x"].betas == (0.5, 0.9)
    build_optimizer(game, {**config, "lr": 0.2})  # a changed copy is a plain dict: checked
    assert len(keys) == len(DEFAULTS)


def test_a_checked_config_for_other_players_is_checked_again():
    config = validate_config({"name": "gda", "lr": {"a": 0.1, "b": 0.1}}, ("a", "b"))
    with pytest.raises(ConfigError, match="one per player: y, x"):
        build_optimizer(bilinear(), config)


def test_a_checked_config_cannot_change_in_place_and_survives_copies():
    config = validate_config({"name": "gda", "lr": {"x": 0.1, "y": 0.2}}, ("y", "x"))
    for change in (lambda: config.__setitem__("lr", -1), lambda: config.update(lr=-1), lambda: config.pop("lr"),
                   lambda: config.setdefault("new", 1), lambda: config.clear(), lambda: config.__delitem__("lr")):
        with pytest.raises(TypeError, match="cannot be changed"):
            change()
    for twin in (copy.copy(config), copy.deepcopy(config), pickle.loads(pickle.dumps(config))):
        assert type(twin) is CheckedConfig and twin == config and twin.players == ("y", "x")
    assert json.loads(json.dumps(config)) == json.loads(json.dumps(dict(config)))
    assert type({**config, "lr": 0.5}) is dict


def test_options_built_under_the_registry_are_not_checked_in_the_constructors(monkeypatch):
    keys = count_checks(monkeypatch)
    with optimizers.options.prechecked():
        Adam(lr=0.1)
    assert keys == []
    Adam(lr=0.1)
    assert sorted(keys) == ["betas", "eps", "lr"]


def test_per_member_step_sizes_are_checked_by_the_rule():
    assert torch.equal(SGD(lr=torch.tensor([0.1, 0.2])).lr, torch.tensor([0.1, 0.2]))
    with pytest.raises(ConfigError, match=r"^lr=tensor\(0.1000\) is not valid; give a number, or a non-empty list"):
        SGD(lr=torch.tensor(0.1))
    with pytest.raises(ConfigError, match=r"^lr=\[\] is not valid; give a number, or a non-empty list"):
        SGD(lr=[])


def test_a_config_is_checked_once_per_process(monkeypatch):
    """The same content checked twice runs the owners' checks once; the copy handed out is equal and
    immutable, and another content is checked anew."""
    from optimizers import registry

    calls = []
    validate = registry._validate
    monkeypatch.setattr(registry, "_validate", lambda *args: calls.append(args) or validate(*args))
    monkeypatch.setattr(registry, "_CHECKED", {})
    config = {"name": "extra_adam", "lr": {"d": 1e-4, "g": 5e-4}}
    first = registry.validate_config(config, ("d", "g"))
    second = registry.validate_config(dict(config), ("d", "g"))
    assert first == second and len(calls) == 1
    registry.validate_config({**config, "lr": 1e-3}, ("d", "g"))
    assert len(calls) == 2
    with pytest.raises(TypeError):
        second["name"] = "adam"

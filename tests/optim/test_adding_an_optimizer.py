"""The "Adding an optimizer" steps of docs/optimizers.md, followed as written: the scheme's file is the
page's code block, written to a temporary module and imported; its registration lines are the page's;
the optimizer is then built from a run's config and stepped on xy, against OGDA and a hand derivation."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import optimizers.rules
from ali_opt.errors import ConfigError
from optimizers import OPTIMIZERS, build_optimizer, registry
from tests.helpers.toy_games import ScalarGame, no_batch

DOCS = Path(__file__).resolve().parents[2] / "docs" / "optimizers.md"
REGISTERED = re.compile(r'^\s*"(\w+)": \((\w+), (\w+)\),$', re.MULTILINE)


def section_blocks() -> list[str]:
    """The Python code blocks of the page's "Adding an optimizer" section."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## Adding an optimizer"):]
    following = section.find("\n## ", 1)
    section = section if following < 0 else section[:following]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


@pytest.fixture
def added(tmp_path, monkeypatch) -> dict[str, tuple[type, type]]:
    """Each name the section registers, with its scheme and rule, registered as the section says."""
    blocks = section_blocks()
    scheme_file = next(block for block in blocks if "class " in block)
    (tmp_path / "grad_extrapolation.py").write_text(scheme_file, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("grad_extrapolation", tmp_path / "grad_extrapolation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    known = {**vars(registry), **vars(optimizers.rules), **vars(module)}
    found = {name: (known[scheme], known[rule]) for block in blocks for name, scheme, rule in REGISTERED.findall(block)}
    for name, pair in found.items():
        monkeypatch.setitem(OPTIMIZERS, name, pair)
    return found


def run(name: str, steps: int, **config) -> list[tuple[float, float]]:
    """The iterates (x, y) of ``steps`` steps of ``name`` on f = xy from (1, 2), built from a run's config
    (every key of the run defaults, as a study's config holds them)."""
    game = ScalarGame(x0=1.0, y0=2.0)
    optimizer = build_optimizer(game, {**registry.every_default(), "name": name, "lr": 0.1, **config})
    points = []
    for _ in range(steps):
        optimizer.step(no_batch)
        points.append(game.point())
    return points


def test_the_section_adds_a_pairing_and_a_scheme_from_its_own_file(added):
    assert set(added) == {"cgd_adam", "grad_extrapolation"}
    scheme, rule = added["grad_extrapolation"]
    assert (scheme.__name__, rule) == ("GradientExtrapolation", optimizers.rules.SGD)
    assert registry.defaults_for("grad_extrapolation")["gamma"] == 1.0
    assert registry.every_default()["gamma"] == "default"  # consensus defaults its gamma to 10


def test_the_new_scheme_with_gamma_one_is_optimistic_gradient_descent_ascent(added):
    """theta_{t+1} = theta_t - eta (2 g_t - g_{t-1}), with the plain first step of ``first_step="single"``."""
    found = run("grad_extrapolation", 3)
    np.testing.assert_allclose(found, run("optimistic", 3, first_step="single"), rtol=0, atol=1e-14)
    np.testing.assert_allclose(found[0], (0.8, 2.1), rtol=0, atol=1e-15)


def test_the_new_schemes_first_iterates_derived_by_hand(added):
    """gamma = 0.5 at (1, 2), eta = 0.1: g_0 = (2, -1) (x's gradient y, y's -x), a plain step to (0.8, 2.1);
    g_1 = (2.1, -0.8), pushed to g_1 + 0.5 (g_1 - g_0) = (2.15, -0.7), so (0.8 - 0.215, 2.1 + 0.07)."""
    np.testing.assert_allclose(run("grad_extrapolation", 2, gamma=0.5), [(0.8, 2.1), (0.585, 2.17)], rtol=0, atol=1e-15)


def test_the_new_scheme_refuses_a_bad_option_and_resumes_bit_for_bit(added):
    with pytest.raises(ConfigError, match=r"^optimizer\.gamma=-1 is not valid; it must be a number >= 0$"):
        run("grad_extrapolation", 1, gamma=-1)
    game, twin = ScalarGame(x0=1.0, y0=2.0), ScalarGame(x0=1.0, y0=2.0)
    config = {"name": "grad_extrapolation", "lr": 0.1, "gamma": 0.5}
    straight = build_optimizer(game, config)
    straight.step(no_batch)
    twin.load_state_dict(game.state_dict())
    resumed = build_optimizer(twin, config)
    resumed.load_state_dict(straight.state_dict())
    for _ in range(2):
        straight.step(no_batch)
        resumed.step(no_batch)
    assert all(map(torch.equal, game.parameters(), twin.parameters()))


def test_the_new_pairing_passes_cgds_competitive_gradients_through_adam(added):
    """CGD at (1, 2) with eta = 0.1 solves for y first: (1 + eta^2) c_y = -1 + 2 eta, c_x = 2 - eta c_y. Adam's
    first step is -eta c / (|c| + eps): eta times the sign of c, to eps / |c|."""
    c_y = (-1 + 0.2) / 1.01
    c_x = 2 - 0.1 * c_y
    x, y = run("cgd_adam", 1)[0]
    assert (x, y) == pytest.approx((1 - 0.1 * c_x / (c_x + 1e-8), 2 + 0.1 * -c_y / (-c_y + 1e-8)), abs=1e-12)

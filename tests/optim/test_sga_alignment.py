r"""SGA's sign rule divides the alignment :math:`\langle\xi,\nabla H\rangle\langle A^\top\xi,\nabla H\rangle` by the
number of parameter tensors (``sga_align_norm="tensors"``, DeepMind's reference code: ``n = len(vars_)``)
or of scalar parameters (``"scalars"``).

:class:`VectorScalarGame`: player ``x`` (one tensor of 4 entries) has loss :math:`y\,u^\top x + \tfrac{s}{2}|x|^2`,
player ``y`` (one scalar) :math:`-y\,u^\top x`, with :math:`u = (\tfrac12, \tfrac12, \tfrac12, \tfrac12)`,
:math:`|u| = 1`, and :math:`s = -0.3`. On :math:`(x, y)`,
:math:`\xi = (yu + sx,\; -u^\top x)` and :math:`J = \begin{pmatrix} sI & u\\ -u^\top & 0\end{pmatrix}`. At
:math:`x = 0, y = 1`: :math:`\xi = (u, 0)`, :math:`\nabla H = J^\top\xi = (su, 1)`, :math:`J\xi = (su, -1)`,
:math:`A^\top\xi = \tfrac12(J^\top\xi - J\xi) = (0, 1)`; :math:`\langle\xi,\nabla H\rangle = s`,
:math:`\langle A^\top\xi,\nabla H\rangle = 1`, so the alignment is :math:`s = -0.3`:

- 2 tensors: :math:`-0.3/2 + 0.1 = -0.05 < 0`, :math:`\lambda = -1`;
- 5 scalars: :math:`-0.3/5 + 0.1 = 0.04 > 0`, :math:`\lambda = +1`.

With SGD (:math:`\eta = 0.1`) the step is :math:`-\eta(\xi + \lambda A^\top\xi)`: :math:`x \leftarrow -0.1u`
either way, :math:`y \leftarrow 1 - 0.1\lambda`: 1.1 with tensors, 0.9 with scalars.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

from ali_opt.ensemble import Ensemble
from ali_opt.game import Game, GameOutput
from optimizers import DEFAULTS
from tests.helpers.toy_games import no_batch, optimizer_for


class VectorScalarGame(Game):
    players = ("x", "y")

    def __init__(self, s: float = -0.3):
        super().__init__()
        self.x = nn.Parameter(torch.zeros(4, dtype=torch.float64))
        self.y = nn.Parameter(torch.tensor(1.0, dtype=torch.float64))
        self.register_buffer("u", torch.full((4,), 0.5, dtype=torch.float64))
        self.register_buffer("s", torch.tensor(s, dtype=torch.float64))

    def player_of(self, parameter_name: str) -> str:
        return parameter_name

    def forward(self, batch=None) -> GameOutput:
        coupling = self.y * (self.u @ self.x)
        return GameOutput(losses={"x": coupling + self.s / 2 * self.x.square().sum(), "y": -coupling})


def test_the_default_is_the_reference_codes_count_of_tensors():
    assert DEFAULTS["sga_align_norm"] == "tensors"


@pytest.mark.parametrize("norm, y_after", [("tensors", 1.1), ("scalars", 0.9)])
def test_the_sign_depends_on_what_the_alignment_is_divided_by(norm, y_after):
    game = VectorScalarGame()
    optimizer_for(game, "sga", lr=0.1, sga_align_norm=norm).step(no_batch)
    torch.testing.assert_close(game.x.detach(), torch.full((4,), -0.05, dtype=torch.float64), rtol=0, atol=1e-15)
    assert game.y.item() == pytest.approx(y_after, abs=1e-15)


def test_the_default_takes_the_tensors_sign():
    game = VectorScalarGame()
    optimizer_for(game, "sga", lr=0.1).step(no_batch)
    assert game.y.item() == pytest.approx(1.1, abs=1e-15)


@pytest.mark.parametrize("norm, y_after", [("tensors", [1.1, 0.9]), ("scalars", [0.9, 0.9])])
def test_each_member_of_an_ensemble_takes_its_own_sign(norm, y_after):
    """Member 0 as above; member 1 has s = -0.1, alignment -0.1: -0.05 + 0.1 > 0 and -0.02 + 0.1 > 0.
    (An ensemble's tensors stack the members' copies: still 2 tensors and 5 scalars per member.)"""
    ensemble = Ensemble([VectorScalarGame(s=-0.3), VectorScalarGame(s=-0.1)])
    optimizer_for(ensemble, "sga", lr=0.1, sga_align_norm=norm).step(no_batch)
    assert ensemble.stacked.y.tolist() == pytest.approx(y_after, abs=1e-15)

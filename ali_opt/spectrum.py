r"""Eigenvalues of the Jacobian of a game's joint gradient field, matrix-free.

The field :math:`\xi(\theta) = (\nabla_{\theta_i}\ell_i)_i` of a game has Jacobian :math:`J`; its
eigenvalues say how the game's dynamics rotate (imaginary parts) and attract or repel (real
parts): simultaneous gradient descent with a small step converges near a point where every
eigenvalue has a positive real part (Mescheder et al., 2017). :func:`game_eigenvalues`
hands ARPACK (``scipy.sparse.linalg.eigs``) a ``LinearOperator`` whose products with a vector are
Jacobian products, never the Jacobian:

- ``products="vjp"`` (the default, the faster one measured in ``benchmarks/spectrum.py``):
  :math:`J^\top u` by one double-backward pass through the gradient graph, kept from one
  evaluation. :math:`J^\top` has the eigenvalues of :math:`J` (a real matrix and its transpose
  share the characteristic polynomial).
- ``products="jvp"``: :math:`Jv` by ``torch.func.jvp`` over ``torch.func.grad`` (forward-over-reverse),
  one forward pass of the game per product.

The dense path (``method="dense"``, automatic for at most ``DENSE_LIMIT`` parameters) builds
:math:`J` with ``torch.func.jacfwd`` of the same functional field and calls ``numpy.linalg.eigvals``.

The evaluation is frozen: the global random state is forked and reseeded with ``seed`` before
every game evaluation (so a game that still draws noise inside ``forward``, such as ALI given a
plain tensor instead of an ``ALIBatch``, sees the same noise in every product, and the caller's
random stream is untouched); BatchNorm layers normalise with the batch's statistics without
updating their running ones, and every buffer is restored afterwards. Parameters are not
changed. The losses are the game's own: an optimizer's weight decay :math:`\lambda_i` would add
:math:`\lambda_i I` to player :math:`i`'s diagonal block.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator, eigs
from torch.func import functional_call

from optimizers.field import GameField

from .batchnorm import running_statistics_frozen
from .errors import ConfigError, check_choice, check_positive
from .game import Game

WHICH = ("LM", "SM", "LR", "SR", "LI", "SI")
"""ARPACK's choices: largest / smallest magnitude, real part, |imaginary part| (for a real
matrix ARPACK ranks imaginary parts by absolute value, so conjugate pairs stay together)."""
METHODS = ("auto", "arpack", "dense")
PRODUCTS = ("vjp", "jvp")
DENSE_LIMIT = 1000
"""``method="auto"`` builds the dense Jacobian for games with at most this many parameters."""


class Spectrum(np.ndarray):
    """The eigenvalues (a complex array); ``products`` tells how many Jacobian products ARPACK asked for."""

    products: int = 0


def game_eigenvalues(game: Game, batch: Any, k: int = 6, which: str = "LM", *, method: str = "auto",
                     products: str = "vjp", tol: float = 0.0, maxiter: int | None = None, seed: int = 0) -> np.ndarray:
    """The ``k`` eigenvalues of the field's Jacobian at ``game``'s parameters on ``batch`` that ARPACK's
    ``which`` selects, sorted by that criterion (largest first for ``L*``, smallest first for ``S*``).

    ``batch`` is handed to ``game`` unchanged (any pytree). ``tol`` is ARPACK's relative accuracy
    (0: machine precision) and ``maxiter`` its cap on restarts (None: ARPACK's default); when it
    is reached, ``scipy.sparse.linalg.ArpackNoConvergence`` is raised. The result is a :class:`Spectrum` (a complex numpy array) whose
    ``products`` attribute counts the Jacobian products used (the dense path: one per parameter).
    """
    check_choice("which", which, WHICH)
    check_choice("method", method, METHODS)
    check_choice("products", products, PRODUCTS)
    check_positive("k", k, integer=True)
    params = {player: list(named.values()) for player, named in game.player_parameters().items()}
    size = sum(p.numel() for values in params.values() for p in values)
    if method == "auto":
        method = "dense" if size <= DENSE_LIMIT else "arpack"
    if k > size or (method == "arpack" and k >= size - 1):
        raise ConfigError(f"k={k} is not valid for a game with {size} parameters; ARPACK needs k < {size - 1}, "
                          f"the dense path k <= {size}")
    with _frozen(game, seed) as reseed:
        if method == "dense":
            primal = _named_parameters(game)
            field = _functional_field(game, batch, reseed)
            flat = torch.cat([p.reshape(-1) for p in primal.values()])
            jacobian = torch.func.jacfwd(lambda vector: field(_unflatten(vector, primal)), randomness="same")(flat)
            values = np.linalg.eigvals(jacobian.detach().cpu().double().numpy())
            count = size
        else:
            operator = _operator(game, params, batch, products, reseed, size)
            values = eigs(operator, k=k, which=which, tol=tol, maxiter=maxiter, return_eigenvectors=False)
            count = operator.count
    found = _select(values, k, which).view(Spectrum)
    found.products = count
    return found


def _select(values: np.ndarray, k: int, which: str) -> np.ndarray:
    key = {"M": np.abs, "R": np.real, "I": lambda v: np.abs(np.imag(v))}[which[1]](values)
    order = np.argsort(-key if which[0] == "L" else key, kind="stable")
    return np.asarray(values, dtype=complex)[order[:k]]


class _CountingOperator(LinearOperator):
    def __init__(self, size: int, product: Callable[[np.ndarray], np.ndarray]):
        super().__init__(dtype=np.float64, shape=(size, size))
        self._product = product
        self.count = 0

    def _matvec(self, vector: np.ndarray) -> np.ndarray:
        self.count += 1
        return self._product(np.asarray(vector).reshape(-1))


def _operator(game: Game, params: dict[str, list[torch.Tensor]], batch: Any, products: str,
              reseed: Callable[[], None], size: int) -> _CountingOperator:
    primal = _named_parameters(game)
    owners = {player: list(named) for player, named in game.player_parameters().items()}
    reference = next(iter(primal.values()))

    def pieces(vector: np.ndarray) -> dict[str, torch.Tensor]:
        return _unflatten(torch.from_numpy(vector).to(device=reference.device, dtype=reference.dtype), primal)

    if products == "vjp":
        reseed()
        field = GameField(game, params, batch)

        def vjp(vector: np.ndarray) -> np.ndarray:
            named = pieces(vector)
            product = field.transpose_product({player: [named[name] for name in names]
                                               for player, names in owners.items()})
            return torch.cat([t.reshape(-1) for player in owners for t in product[player]]).cpu().double().numpy()

        return _CountingOperator(size, vjp)
    function = _functional_field(game, batch, reseed)

    def jvp(vector: np.ndarray) -> np.ndarray:
        _, out = torch.func.jvp(function, (primal,), (pieces(vector),))
        return out.detach().cpu().double().numpy()

    return _CountingOperator(size, jvp)


def _named_parameters(game: Game) -> dict[str, torch.Tensor]:
    """Every parameter by name, detached, in player order (the order of the flat field)."""
    return {name: p.detach() for named in game.player_parameters().values() for name, p in named.items()}


def _unflatten(vector: torch.Tensor, like: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    pieces, start = {}, 0
    for name, p in like.items():
        pieces[name] = vector[start:start + p.numel()].view(p.shape)
        start += p.numel()
    return pieces


def _functional_field(game: Game, batch: Any, reseed: Callable[[], None]):
    """``parameters (by name) -> the flat joint field``, a pure function for ``torch.func``.

    Each player's gradient is taken from its own evaluation on a fresh copy of the buffers,
    reseeded, so every player sees the same noise and the module's buffers never move.
    Called inside :func:`_frozen`.
    """
    owners = {player: list(named) for player, named in game.player_parameters().items()}
    buffers = dict(game.named_buffers())

    def field(parameters: dict[str, torch.Tensor]) -> torch.Tensor:
        pieces = []
        for player, names in owners.items():
            def loss(own, player=player):
                reseed()
                copies = {name: b.clone() for name, b in buffers.items()}
                return functional_call(game, ({**parameters, **own}, copies), (batch,)).losses[player]
            gradient = torch.func.grad(loss)({name: parameters[name] for name in names})
            pieces += [gradient[name].reshape(-1) for name in names]
        return torch.cat(pieces)

    return field


@contextlib.contextmanager
def _frozen(game: Game, seed: int) -> Iterator[Callable[[], None]]:
    """Fork the random state, keep BatchNorm running statistics out of the evaluations (batch
    statistics normalise, as in training mode) and restore every buffer afterwards; yields a
    function that reseeds."""
    saved = {name: b.clone() for name, b in game.named_buffers()}
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    try:
        with torch.random.fork_rng(devices=devices), running_statistics_frozen(game):
            yield lambda: torch.manual_seed(seed)
    finally:
        with torch.no_grad():
            for name, b in game.named_buffers():
                b.copy_(saved[name])


def logged_spectrum(game: Game, batch: Any, k: int, *, tol: float = 0.0, maxiter: int | None = None,
                    seed: int = 0) -> dict[str, float]:
    """What a run logs of its spectrum (``spectrum_every``): :func:`spectrum_scalars` of the ``k``
    eigenvalues of largest modulus (``which="LM"``: the stiff, mostly real ones) and of the ``k`` of
    largest imaginary part (``which="LI"``: the rotation). Two ARPACK solves; ``eig_products`` counts
    the Jacobian products of both. ``scipy.sparse.linalg.ArpackNoConvergence`` when either fails."""
    largest = game_eigenvalues(game, batch, k=k, which="LM", tol=tol, maxiter=maxiter, seed=seed)
    rotating = game_eigenvalues(game, batch, k=k, which="LI", tol=tol, maxiter=maxiter, seed=seed)
    return spectrum_scalars(largest, rotating)


def spectrum_scalars(eigenvalues: np.ndarray, rotating: np.ndarray | None = None) -> dict[str, float]:
    r"""The scalars of a spectrum. Of ``eigenvalues`` (the largest in modulus): ``eig_max_abs``,
    ``eig_max_real``, ``eig_min_real`` and each as ``eig_real_<i>``, ``eig_imag_<i>``. Of ``rotating``
    (the largest in imaginary part, ``which="LI"``), when given: ``eig_max_imag`` (the largest
    :math:`|\mathrm{Im}|`), ``eig_rotation`` (the largest :math:`|\mathrm{Im}|/|\mathrm{Re}|`, infinite
    for a purely imaginary eigenvalue) and each as ``eig_li_real_<i>``, ``eig_li_imag_<i>``. The
    largest-modulus eigenvalues are the stiff real ones and say nothing of the rotation, so no
    rotation is reported without ``rotating``. ``eig_products``: the Jacobian products of both."""
    values = np.asarray(eigenvalues, dtype=complex)
    scalars = {
        "eig_max_abs": float(np.abs(values).max()),
        "eig_max_real": float(values.real.max()),
        "eig_min_real": float(values.real.min()),
        "eig_products": int(getattr(eigenvalues, "products", 0)) + int(getattr(rotating, "products", 0)),
    }
    for index, value in enumerate(values):
        scalars[f"eig_real_{index}"] = float(value.real)
        scalars[f"eig_imag_{index}"] = float(value.imag)
    if rotating is None:
        return scalars
    turning = np.asarray(rotating, dtype=complex)
    with np.errstate(divide="ignore", invalid="ignore"):
        rotation = np.abs(turning.imag) / np.abs(turning.real)
    scalars["eig_max_imag"] = float(np.abs(turning.imag).max())
    scalars["eig_rotation"] = float(np.nan_to_num(rotation, nan=0.0, posinf=np.inf).max())
    for index, value in enumerate(turning):
        scalars[f"eig_li_real_{index}"] = float(value.real)
        scalars[f"eig_li_imag_{index}"] = float(value.imag)
    return scalars

"""The Krylov solvers of CGD and ACGD (optimizers/krylov.py) alone, against SciPy's.

Conjugate gradient on random symmetric positive definite systems and GMRES on random
non-symmetric ones, the unknowns split over a list of tensors as parameters are. After k
iterations both methods' iterates are defined by a minimisation over the Krylov space
x0 + K_k(A, r0) (CG: the A-norm of the error; GMRES: the residual norm), so the k-th iterate
must equal scipy.sparse.linalg's k-th iterate, not only the converged solution. In an ensemble
every member's system is solved on its own, as if alone.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg
import torch

from optimizers.krylov import conjugate_gradient, gmres

SHAPES = ((3,), (2, 2), (5,))
"""The unknowns as a list of tensors: 12 in all."""

N = sum(int(np.prod(shape)) for shape in SHAPES)


def spd(rng: np.random.Generator, n: int = N) -> np.ndarray:
    """A random symmetric positive definite matrix with eigenvalues in [1, 10]."""
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return q @ np.diag(np.linspace(1, 10, n)) @ q.T


def non_symmetric(rng: np.random.Generator, n: int = N) -> np.ndarray:
    """A random non-symmetric, well-conditioned matrix: identity plus a scaled Gaussian matrix."""
    return np.eye(n) + 0.3 * rng.normal(size=(n, n)) / np.sqrt(n)


def split(vector: np.ndarray, members: int | None = None) -> list[torch.Tensor]:
    """A flat vector (or one row per member) as tensors shaped like SHAPES (with a member dimension first)."""
    rows = vector if members is not None else vector[None]
    tensors, offset = [], 0
    for shape in SHAPES:
        size = int(np.prod(shape))
        part = torch.from_numpy(rows[:, offset:offset + size].copy()).reshape(len(rows), *shape)
        tensors.append(part if members is not None else part[0])
        offset += size
    return tensors


def join(tensors: list[torch.Tensor], members: int | None = None) -> np.ndarray:
    if members is None:
        return np.concatenate([t.reshape(-1).numpy() for t in tensors])
    return np.concatenate([t.reshape(members, -1).numpy() for t in tensors], axis=1)


def product(matrices: np.ndarray, members: int | None = None):
    """``matrix(v)`` for the solvers: A v on the split unknowns (one matrix per member in an ensemble)."""
    def matrix(v: list[torch.Tensor]) -> list[torch.Tensor]:
        flat = join(v, members)
        return split(flat @ matrices.T if members is None else np.einsum("mij,mj->mi", matrices, flat), members)
    return matrix


def scipy_iterate(method, a: np.ndarray, b: np.ndarray, x0: np.ndarray, k: int) -> np.ndarray:
    """SciPy's k-th iterate (tolerances 0, so it never stops early; GMRES: one cycle of k, no restart)."""
    if method is conjugate_gradient:
        x, _ = scipy.sparse.linalg.cg(a, b, x0, rtol=0.0, atol=0.0, maxiter=k)
    else:
        x, _ = scipy.sparse.linalg.gmres(a, b, x0, rtol=0.0, atol=0.0, restart=k, maxiter=1)
    return x


CASES = [(conjugate_gradient, spd), (gmres, non_symmetric)]


@pytest.mark.parametrize("method, draw", CASES, ids=["cg", "gmres"])
@pytest.mark.parametrize("k", [1, 3, 6])
@pytest.mark.parametrize("from_zero", [True, False])
def test_the_kth_iterate_is_scipys(method, draw, k, from_zero):
    rng = np.random.default_rng(k + 10 * from_zero)
    a, b = draw(rng), rng.normal(size=N)
    x0 = np.zeros(N) if from_zero else rng.normal(size=N)
    solution, outcome = method(product(a), split(b), None if from_zero else split(x0), None, max_iter=k, tol=0.0,
                               atol=0.0)
    expected = scipy_iterate(method, a, b, x0, k)
    np.testing.assert_allclose(join(solution), expected, rtol=1e-9, atol=1e-9)
    assert (outcome.loops, int(outcome.iterations)) == (k, k) and not bool(outcome.converged)
    relative = np.linalg.norm(b - a @ expected) / np.linalg.norm(b)
    assert float(outcome.residual) == pytest.approx(relative, rel=1e-6)


@pytest.mark.parametrize("method, draw", CASES, ids=["cg", "gmres"])
def test_converges_to_the_solution_and_stops_at_the_tolerance(method, draw):
    rng = np.random.default_rng(1)
    a, b = draw(rng), rng.normal(size=N)
    solution, outcome = method(product(a), split(b), None, None, max_iter=N, tol=1e-8, atol=0.0)
    exact = np.linalg.solve(a, b)
    np.testing.assert_allclose(join(solution), exact, rtol=0, atol=1e-6 * np.linalg.norm(exact))
    residual = np.linalg.norm(b - a @ join(solution)) / np.linalg.norm(b)
    assert bool(outcome.converged) and residual <= 1e-8 * (1 + 1e-6)
    assert float(outcome.residual) == pytest.approx(residual, rel=1e-4, abs=1e-14)
    # it stopped at the first iterate meeting the tolerance: the one before did not
    k = int(outcome.iterations)
    before = scipy_iterate(method, a, b, np.zeros(N), k - 1) if k > 1 else np.zeros(N)
    assert np.linalg.norm(b - a @ before) / np.linalg.norm(b) > 1e-8
    assert outcome.loops == k <= N


@pytest.mark.parametrize("method, draw", CASES, ids=["cg", "gmres"])
def test_a_start_that_solves_the_system_takes_no_product(method, draw):
    rng = np.random.default_rng(2)
    a, b = draw(rng), rng.normal(size=N)
    products = []
    matrix = product(a)
    solution, outcome = method(lambda v: products.append(1) or matrix(v), split(b), split(np.linalg.solve(a, b)),
                               None, max_iter=N, tol=1e-8, atol=0.0)
    assert len(products) == 1 and outcome.loops == 0 and bool(outcome.converged)  # the start's residual only
    np.testing.assert_allclose(join(solution), np.linalg.solve(a, b), rtol=1e-12)


@pytest.mark.parametrize("method, draw", CASES, ids=["cg", "gmres"])
def test_ensemble_members_are_solved_each_on_its_own(method, draw):
    """Three members, the second with a right-hand side of 0 (converged at the start): each
    member's solution and iteration count are those of its system solved alone."""
    rng = np.random.default_rng(3)
    members = 3
    a = np.stack([draw(rng) for _ in range(members)])
    b = rng.normal(size=(members, N))
    b[1] = 0.0
    solution, outcome = method(product(a, members), split(b, members), None, members, max_iter=N, tol=1e-6,
                               atol=1e-12)
    for member in range(members):
        alone, alone_outcome = method(product(a[member]), split(b[member]), None, None, max_iter=N, tol=1e-6,
                                      atol=1e-12)
        np.testing.assert_allclose(join(solution, members)[member], join(alone), rtol=1e-9, atol=1e-12)
        assert int(outcome.iterations[member]) == int(alone_outcome.iterations)
    assert int(outcome.iterations[1]) == 0 and bool(outcome.converged.all())
    assert outcome.loops == int(outcome.iterations.max())

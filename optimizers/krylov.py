r"""Krylov solvers of the linear system in each step of :mod:`.cgd` and :mod:`.acgd`: conjugate
gradient and GMRES, on lists of tensors (one per parameter), member by member in an ensemble.

Both solve :math:`A x = b` for a matrix given only through its product ``matrix(v)`` (here
Hessian-vector products), from a start :math:`x_0` (None: 0), and stop at the first iterate
with :math:`\|b - A x_k\| \le \max(\text{tol}\,\|b\|, \text{atol})`, or after
``max_iter`` iterations:

- :func:`conjugate_gradient` (Hestenes & Stiefel, 1952) for symmetric positive definite
  :math:`A` (CGD's system in a zero-sum game): :math:`x_k` minimises the :math:`A`-norm of the
  error over :math:`x_0 + \mathcal{K}_k(A, r_0)`, :math:`r_0 = b - A x_0`;
- :func:`gmres` (Saad & Schultz, 1986), without restarts, for any invertible :math:`A` (the
  general-sum system): :math:`x_k` minimises :math:`\|b - A x\|` over the same Krylov space.

In an ensemble (``members`` not None: every tensor's first dimension is the member) each
member's system is solved on its own: inner products are per member (:func:`.field.dot`) and a
member stops when its own residual is small enough, while the others go on. Each solver returns
the solution and a :class:`SolverOutcome`.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from .field import dot, scale

Matrix = Callable[[list[torch.Tensor]], list[torch.Tensor]]
"""A linear map given by its product with a vector (a list of tensors shaped like the unknowns)."""


class SolverOutcome:
    """How a solve ended, per member in an ensemble (0-d tensors otherwise): ``iterations`` (matrix
    products after the start), ``residual`` (:math:`\\|r\\|/\\|b\\|`, or :math:`\\|r\\|` where :math:`b = 0`),
    ``converged`` (the residual met the tolerance); and ``loops``, the iterations run (the most of any member)."""

    def __init__(self, iterations: torch.Tensor, loops: int, residual: torch.Tensor, b_norm: torch.Tensor,
                 converged: torch.Tensor):
        self.iterations = iterations
        self.loops = loops
        self.residual = torch.where(b_norm > 0, residual / b_norm, residual)
        self.converged = converged


def _start(matrix: Matrix, rhs: list[torch.Tensor], start: list[torch.Tensor] | None):
    """The starting point and its residual :math:`b - Ax_0` (no product when starting from 0)."""
    if start is None:
        return [torch.zeros_like(t) for t in rhs], [t.clone() for t in rhs]
    return [t.clone() for t in start], torch._foreach_sub(rhs, matrix(start))


def conjugate_gradient(matrix: Matrix, rhs: list[torch.Tensor], start: list[torch.Tensor] | None,
                       members: int | None, *, max_iter: int, tol: float, atol: float):
    """Solve ``matrix(x) = rhs`` (symmetric positive definite) by conjugate gradient (Hestenes & Stiefel,
    1952) from ``start`` (None: 0) until :math:`\\|r\\| \\le \\max(\\text{tol}\\,\\|b\\|, \\text{atol})`
    or ``max_iter`` iterations; in an ensemble member by member (each stops on its own)."""
    b_squared = dot(rhs, rhs, members)
    target = torch.clamp(tol**2 * b_squared, min=atol**2)
    solution, residual = _start(matrix, rhs, start)
    direction = [t.clone() for t in residual]
    squared = dot(residual, residual, members)
    active = squared > target
    iterations = torch.zeros_like(active, dtype=torch.long)
    loops = 0
    while loops < max_iter and bool(active.any()):
        product = matrix(direction)
        alpha = torch.where(active, squared / dot(direction, product, members), 0.0)
        solution = torch._foreach_add(solution, scale(direction, alpha))
        torch._foreach_sub_(residual, scale(product, alpha))
        new_squared = torch.where(active, dot(residual, residual, members), squared)
        direction = torch._foreach_add(residual, scale(direction, torch.where(active, new_squared / squared, 0.0)))
        iterations = iterations + active.long()
        squared = new_squared
        active = active & (squared > target)
        loops += 1
    outcome = SolverOutcome(iterations, loops, squared.sqrt(), b_squared.sqrt(), squared <= target)
    return solution, outcome


def gmres(matrix: Matrix, rhs: list[torch.Tensor], start: list[torch.Tensor] | None,
          members: int | None, *, max_iter: int, tol: float, atol: float):
    """Solve ``matrix(x) = rhs`` by GMRES (Saad & Schultz, 1986) without restarts, from ``start``
    (None: 0), until :math:`\\|r\\| \\le \\max(\\text{tol}\\,\\|b\\|, \\text{atol})` or ``max_iter``
    iterations. Arnoldi with modified Gram-Schmidt; Givens rotations give the residual norm of each
    iterate without forming it. In an ensemble member by member: the Arnoldi steps run for all
    members at once, and each member's solution is its own least-squares solution at the
    iteration where it stopped (its later basis vectors are zero)."""
    b_norm = dot(rhs, rhs, members).sqrt()
    target = torch.clamp(tol * b_norm, min=atol)
    origin, residual = _start(matrix, rhs, start)
    norm = dot(residual, residual, members).sqrt()
    active = norm > target
    basis = [scale(residual, _inverse(norm, active))]
    projected = [norm]  # the right-hand side of the least-squares problem, rotated as the columns are
    columns: list[list[torch.Tensor]] = []
    cosines: list[torch.Tensor] = []
    sines: list[torch.Tensor] = []
    iterations = torch.zeros_like(active, dtype=torch.long)
    found = norm
    while len(columns) < max_iter and bool(active.any()):
        j = len(columns)
        w = matrix(basis[j])
        column = []
        for v in basis:
            coefficient = dot(w, v, members)
            w = torch._foreach_sub(w, scale(v, coefficient))
            column.append(coefficient)
        below = dot(w, w, members).sqrt()
        for i in range(j):
            column[i], column[i + 1] = (cosines[i] * column[i] + sines[i] * column[i + 1],
                                        cosines[i] * column[i + 1] - sines[i] * column[i])
        radius = torch.hypot(column[j], below)
        cosine = torch.where(radius > 0, column[j] / radius, 1.0)
        sine = torch.where(radius > 0, below / radius, 0.0)
        column[j] = cosine * column[j] + sine * below
        cosines.append(cosine)
        sines.append(sine)
        projected.append(-sine * projected[j])
        projected[j] = cosine * projected[j]
        columns.append(column)
        iterations = iterations + active.long()
        found = torch.where(active, projected[j + 1].abs(), found)
        active = active & (found > target)
        basis.append(scale(w, _inverse(below, active)))
    loops = len(columns)
    outcome = SolverOutcome(iterations, loops, found, b_norm, found <= target)
    if not loops:
        return origin, outcome
    upper = torch.zeros(*norm.shape, loops, loops, dtype=norm.dtype, device=norm.device)
    for j, column in enumerate(columns):
        upper[..., : j + 1, j] = torch.stack(column, -1)
    index = torch.arange(loops, device=norm.device)
    kept = index < iterations.unsqueeze(-1)  # a member's columns up to where it stopped
    upper = torch.where(kept.unsqueeze(-1) & kept.unsqueeze(-2), upper,
                        torch.eye(loops, dtype=norm.dtype, device=norm.device))
    values = torch.where(kept, torch.stack(projected[:loops], -1), 0.0)
    coefficients = torch.linalg.solve_triangular(upper, values.unsqueeze(-1), upper=True).squeeze(-1)
    solution = origin
    for j in range(loops):
        solution = torch._foreach_add(solution, scale(basis[j], coefficients[..., j]))
    return solution, outcome


def _inverse(norm: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """``1 / norm`` where ``active`` and the norm is positive, else 0."""
    return torch.where(active & (norm > 0), 1 / norm, 0.0)

"""Sample quality from two sets of feature vectors: FID, KID, and improved precision and recall.

Pure functions: features in (numpy arrays or torch tensors of shape (N, D), any float
dtype, any device), float64 maths, Python floats out. The features are usually the 2048-d
pool3 activations of the 2015-12-05 Inception network (:mod:`ali_opt.metrics.inception`),
real images as the set ``a`` / ``real`` and generated ones as ``b`` / ``fake``.

- :func:`feature_statistics` and :func:`frechet_distance`: the Fréchet Inception Distance,
  the 2-Wasserstein distance between Gaussians fitted to the two sets (Heusel et al. 2017).
- :class:`FeatureReference`, :func:`feature_reference` and :func:`frechet_distance_to_reference`:
  the same distance against a real set whose statistics and covariance square root are
  computed once (an eigendecomposition), each fake set then costing an n x n eigenvalue
  problem instead of a D x D ``sqrtm`` (the route taken at every evaluation of a run).
- :func:`kernel_inception_distance`: the squared MMD with a cubic polynomial kernel, unbiased,
  averaged over random subsets (Bińkowski et al. 2018).
- :func:`precision_recall`: the fraction of each set inside the other's k-NN manifold
  (Kynkäänniemi et al. 2019); :func:`knn_radii` gives the radii of that manifold.
- :func:`coverage_density`: how many real k-NN balls hold fake samples, and how densely
  (Naeem et al. 2020), measures of diversity and fidelity that degrade gradually rather than
  falling to 0 at a hard threshold as recall does.

References:
    M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter. GANs trained by a two
    time-scale update rule converge to a local Nash equilibrium. NeurIPS 2017.
    M. Bińkowski, D. J. Sutherland, M. Arbel, A. Gretton. Demystifying MMD GANs. ICLR 2018.
    T. Kynkäänniemi, T. Karras, S. Laine, J. Lehtinen, T. Aila. Improved precision and recall
    metric for assessing generative models. NeurIPS 2019.
    M. F. Naeem, S. J. Oh, Y. Uh, Y. Choi, J. Yoo. Reliable fidelity and diversity metrics for
    generative models. ICML 2020.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import torch

FID_EPS = 1e-6
"""Added to the diagonal of both covariances when ``sqrtm(cov_a @ cov_b)`` is not finite (pytorch-fid's value)."""

IMAGINARY_TOLERANCE = 1e-3
"""Largest imaginary part tolerated on the diagonal of ``sqrtm(cov_a @ cov_b)`` (pytorch-fid's value)."""

DISTANCE_BLOCK = 2**22
"""Entries of one block of pairwise distances in :func:`knn_radii` and :func:`precision_recall`
(32 MiB in float64): rows are processed this many entries at a time."""

COVERAGE_K = 5
"""The neighbours that size the real balls of :func:`coverage_density` (Naeem et al. 2020's choice)."""

WHOLE_GRAM_LIMIT = 2**25
"""Most entries of the one Gram matrix of all rows that :func:`kernel_inception_distance` may
build instead of three per subset (256 MiB in float64)."""


def _as_numpy(x, name: str, ndim: int) -> np.ndarray:
    """``x`` (numpy or torch) as a float64 numpy array with ``ndim`` dimensions."""
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {x.shape}")
    return x


def _as_torch(x, name: str) -> torch.Tensor:
    """``x`` (numpy or torch) as a float64 CPU tensor of shape (N, D)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64)
    else:
        x = torch.from_numpy(np.asarray(x, dtype=np.float64))
    if x.ndim != 2:
        raise ValueError(f"{name} must be (N, D) features, got shape {tuple(x.shape)}")
    return x


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of ``features`` (N, D), float64:

        mu  = 1/N  sum_i x_i
        cov = 1/(N-1) sum_i (x_i - mu)(x_i - mu)^T     (unbiased, as ``np.cov``)

    Returns ``(mu, cov)`` of shapes (D,) and (D, D). Needs N >= 2.
    """
    x = _as_numpy(features, "features", 2)
    if len(x) < 2:
        raise ValueError(f"feature_statistics needs at least 2 feature vectors, got {len(x)}")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance(mu_a, cov_a, mu_b, cov_b) -> float:
    """Fréchet distance between the Gaussians N(mu_a, cov_a) and N(mu_b, cov_b) (Heusel et al. 2017):

        FID = |mu_a - mu_b|^2 + tr(cov_a + cov_b - 2 (cov_a cov_b)^{1/2})

    the squared 2-Wasserstein distance between the two Gaussians; 0 for identical statistics.

    ``(cov_a cov_b)^{1/2}`` is ``scipy.linalg.sqrtm`` of the product, as in pytorch-fid:

    - when it is not finite (the product is singular, as with fewer samples than dimensions),
      it is recomputed as ``sqrtm((cov_a + eps I)(cov_b + eps I))`` with ``eps`` =
      :data:`FID_EPS`;
    - its imaginary part (rounding makes tiny negative eigenvalues of the product, whose
      square roots are imaginary) is dropped when every diagonal entry's is below
      :data:`IMAGINARY_TOLERANCE` in absolute value; a larger one raises ``ValueError``
      (the covariances are not positive semi-definite).

    Inputs are numpy arrays or torch tensors (computed in float64); returns a Python float.
    """
    mu_a, mu_b = _as_numpy(mu_a, "mu_a", 1), _as_numpy(mu_b, "mu_b", 1)
    cov_a, cov_b = _as_numpy(cov_a, "cov_a", 2), _as_numpy(cov_b, "cov_b", 2)
    d = len(mu_a)
    if mu_b.shape != (d,) or cov_a.shape != (d, d) or cov_b.shape != (d, d):
        raise ValueError(f"frechet_distance needs means (D,) and covariances (D, D) of one D; got {mu_a.shape}, "
                         f"{cov_a.shape}, {mu_b.shape}, {cov_b.shape}")
    diff = mu_a - mu_b
    covmean = _sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():
        offset = np.eye(d) * FID_EPS
        covmean = _sqrtm((cov_a + offset) @ (cov_b + offset))
    if np.iscomplexobj(covmean):
        imaginary = np.abs(np.diagonal(covmean).imag).max()
        if not imaginary < IMAGINARY_TOLERANCE:
            raise ValueError(f"sqrtm(cov_a @ cov_b) has an imaginary part of {imaginary:.3g} on its diagonal; "
                             "the covariances must be positive semi-definite")
        covmean = covmean.real
    return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """``scipy.linalg.sqrtm`` without its warnings (singular input shows as non-finite output,
    which :func:`frechet_distance` handles)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return scipy.linalg.sqrtm(matrix)


@dataclass(frozen=True)
class FeatureReference:
    """A real feature set, summarised for :func:`frechet_distance_to_reference`: its mean ``mu``
    (D,), the symmetric positive semi-definite square root ``sqrt_cov`` (D, D) of its covariance
    (``sqrt_cov @ sqrt_cov`` is the covariance) and ``trace_cov``, the covariance's trace;
    float64 numpy arrays. Built by :func:`feature_reference`."""

    mu: np.ndarray
    sqrt_cov: np.ndarray
    trace_cov: float

    @property
    def cov(self) -> np.ndarray:
        """The covariance, ``sqrt_cov @ sqrt_cov`` (eigenvalues below 0 clipped to 0)."""
        return self.sqrt_cov @ self.sqrt_cov


def feature_reference(features) -> FeatureReference:
    """The :class:`FeatureReference` of ``features`` (N, D), N >= 2: mean and unbiased covariance
    as :func:`feature_statistics`, and the covariance's square root S = V diag(sqrt(max(l, 0))) V^T
    from its eigendecomposition (``numpy.linalg.eigh``; rounding's tiny negative eigenvalues are
    clipped to 0). One D x D eigendecomposition: a few seconds for D = 2048."""
    mu, cov = feature_statistics(features)
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    sqrt_cov = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T
    return FeatureReference(mu, (sqrt_cov + sqrt_cov.T) / 2, float(np.trace(cov)))


def frechet_distance_to_reference(fake_features, reference: FeatureReference) -> float:
    """:func:`frechet_distance` between the Gaussian fitted to ``fake_features`` (n, D) and the
    real set summarised by ``reference``, computed exactly without a D x D ``sqrtm``.

    With S = cov_r^{1/2} (symmetric, ``reference.sqrt_cov``), X the centred fake features and
    cov_f = X^T X / (n-1):

        tr((cov_r cov_f)^{1/2}) = tr((S cov_f S)^{1/2}) = sum_i sqrt(eig_i(M)),
        M = (X S)(X S)^T / (n-1)     (n x n)

    because similar matrices have the same eigenvalues: cov_r cov_f = S (S cov_f S) S^{-1} is
    similar to S cov_f S (for singular S, by continuity; the eigenvalues of AB and BA always
    agree), so its square root's eigenvalues are the square roots of those of the symmetric
    positive semi-definite S cov_f S = Y^T Y / (n-1) with Y = X S; and Y^T Y and Y Y^T share their
    non-zero eigenvalues. The eigenvalues come from ``numpy.linalg.eigvalsh`` of whichever of
    the two is smaller (n x n, or D x D when n > D), tiny negative ones clipped to 0. With
    tr(cov_f) = |X|_F^2 / (n-1),

        FID = |mu_r - mu_f|^2 + tr(cov_r) + tr(cov_f) - 2 sum_i sqrt(eig_i).

    Equal to :func:`frechet_distance` up to rounding (no eps offset is needed: nothing is
    inverted). Needs n >= 2. Returns a Python float.
    """
    x = _as_numpy(fake_features, "fake_features", 2)
    if len(x) < 2:
        raise ValueError(f"frechet_distance_to_reference needs at least 2 feature vectors, got {len(x)}")
    if x.shape[1] != len(reference.mu):
        raise ValueError(f"fake_features have dimension {x.shape[1]}, the reference {len(reference.mu)}")
    mu = x.mean(axis=0)
    y = (x - mu) @ reference.sqrt_cov
    gram = y @ y.T if len(y) <= y.shape[1] else y.T @ y
    eigenvalues = np.linalg.eigvalsh(gram / (len(x) - 1))
    diff = mu - reference.mu
    trace_fake = float(np.square(x - mu).sum()) / (len(x) - 1)
    return float(diff @ diff + reference.trace_cov + trace_fake - 2 * np.sqrt(np.clip(eigenvalues, 0, None)).sum())


def kernel_inception_distance(feats_a, feats_b, subsets: int = 100, subset_size: int = 1000, degree: int = 3,
                              gamma: float | None = None, coef0: float = 1.0, seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance (Bińkowski et al. 2018): the unbiased estimate of the squared
    maximum mean discrepancy between ``feats_a`` (N_a, D) and ``feats_b`` (N_b, D) under the
    polynomial kernel

        k(x, y) = (gamma x.y + coef0)^degree,    default (x.y / D + 1)^3,

    averaged over ``subsets`` random subsets. Each subset takes m = min(``subset_size``, N_a,
    N_b) rows of each set without replacement, and

        MMD^2 = sum_{i != j} k(a_i, a_j) / (m(m-1)) + sum_{i != j} k(b_i, b_j) / (m(m-1))
                - 2 sum_{i,j} k(a_i, b_j) / m^2.

    Returns ``(mean, std)``: the mean of the subset estimates (the KID; may be slightly
    negative, being unbiased) and ``kid_std``, the standard deviation of the subset
    estimates (``np.std``, ddof 0; as torch-fidelity reports it, StyleGAN reports none). It is the spread
    of one subset's estimate, **not** the standard error of the mean: divide by
    sqrt(``subsets``) for that (an optimistic one: the subsets share rows). When m equals
    both set sizes every subset is the whole sets and ``std`` is 0.

    Deterministic given ``seed`` (a ``numpy.random.Generator``). Defaults (100 subsets of
    1000) are those of torch-fidelity and StyleGAN's metrics. Computed in float64.
    """
    a, b = _as_numpy(feats_a, "feats_a", 2), _as_numpy(feats_b, "feats_b", 2)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feats_a and feats_b must have the same dimension, got {a.shape[1]} and {b.shape[1]}")
    for name, value in (("subsets", subsets), ("subset_size", subset_size), ("degree", degree)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive integer")
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError(f"kernel_inception_distance needs at least 2 rows in each set, got {len(a)} and {len(b)}")
    gamma = 1.0 / a.shape[1] if gamma is None else float(gamma)
    rng = np.random.default_rng(seed)
    draws = [(rng.choice(len(a), m, replace=False), rng.choice(len(b), m, replace=False)) for _ in range(subsets)]

    def kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (gamma * (x @ y.T) + coef0) ** degree

    # One Gram matrix of all rows when that is cheaper than three per subset and small (same values).
    whole = (len(a) + len(b)) ** 2 <= min(3 * subsets * m * m, WHOLE_GRAM_LIMIT)
    if whole:
        both = np.concatenate([a, b])
        gram = kernel(both, both)
    estimates = np.empty(subsets)
    for index, (rows_a, rows_b) in enumerate(draws):
        if whole:
            rows_b = rows_b + len(a)
            k_aa, k_bb, k_ab = (gram[np.ix_(r, c)] for r, c in ((rows_a, rows_a), (rows_b, rows_b), (rows_a, rows_b)))
        else:
            x, y = a[rows_a], b[rows_b]
            k_aa, k_bb, k_ab = kernel(x, x), kernel(y, y), kernel(x, y)
        within = (k_aa.sum() - np.trace(k_aa) + k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
        estimates[index] = within - 2 * k_ab.sum() / m**2
    return float(estimates.mean()), float(estimates.std())


def _blocks(rows: int, cols: int):
    """Row ranges of at most :data:`DISTANCE_BLOCK` entries of a (rows, cols) distance matrix."""
    step = max(1, DISTANCE_BLOCK // max(cols, 1))
    return ((start, min(start + step, rows)) for start in range(0, rows, step))


def knn_radii(points, k: int = 3) -> torch.Tensor:
    """Radius of each point's k-NN ball: the Euclidean distance from ``points[i]`` to its
    ``k``-th nearest neighbour among the other points (a duplicate counts as a neighbour at
    distance 0). Float64 tensor (N,); needs N > k.

    The union of these balls is the set's manifold estimate in :func:`precision_recall`.
    """
    x = _as_torch(points, "points")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r} must be a positive integer")
    if len(x) <= k:
        raise ValueError(f"knn_radii with k={k} needs more than {k} points, got {len(x)}")
    radii = torch.empty(len(x), dtype=torch.float64)
    for start, stop in _blocks(len(x), len(x)):
        distances = torch.cdist(x[start:stop], x)
        # The point itself sits at distance 0, so the (k+1)-th smallest is the k-th neighbour.
        distances[torch.arange(stop - start), torch.arange(start, stop)] = 0.0
        radii[start:stop] = distances.kthvalue(k + 1, dim=1).values
    return radii


def _inside(queries: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """Whether each query lies within ``radii[i]`` of some ``centres[i]`` (closed balls), bool (N_q,)."""
    inside = torch.empty(len(queries), dtype=torch.bool)
    for start, stop in _blocks(len(queries), len(centres)):
        inside[start:stop] = (torch.cdist(queries[start:stop], centres) <= radii).any(dim=1)
    return inside


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of ``fake`` (M, D) against
    ``real`` (N, D).

    Each set's manifold is the union of closed balls around its points, of radius the
    distance to the point's ``k``-th nearest neighbour in the same set (:func:`knn_radii`):

        manifold(S) = union_{s in S} { x : |x - s| <= r_k(s, S) }
        precision   = fraction of fake samples inside manifold(real)    (are samples realistic?)
        recall      = fraction of real samples inside manifold(fake)    (is the data covered?)

    Identical sets give (1, 1); a generator collapsed to a single point gives recall about 0
    (its balls have radius 0). ``k`` = 3 is the paper's default. Pairwise distances are
    computed in float64 with ``torch.cdist``, in blocks of :data:`DISTANCE_BLOCK` entries.
    Needs more than ``k`` points in each set. Returns Python floats in [0, 1].
    """
    x_real, x_fake = _as_torch(real, "real"), _as_torch(fake, "fake")
    if x_real.shape[1] != x_fake.shape[1]:
        raise ValueError(f"real and fake must have the same dimension, got {x_real.shape[1]} and {x_fake.shape[1]}")
    precision = _inside(x_fake, x_real, knn_radii(x_real, k)).double().mean().item()
    recall = _inside(x_real, x_fake, knn_radii(x_fake, k)).double().mean().item()
    return precision, recall


def coverage_density(real, fake, k: int = COVERAGE_K) -> tuple[float, float]:
    """Coverage and density (Naeem et al. 2020) of ``fake`` (M, D) against ``real`` (N, D).

    With B(X_i) the open ball around the real sample X_i of radius NND_k(X_i), the distance to
    its ``k``-th nearest neighbour among the other real samples (:func:`knn_radii`):

        coverage = (1/N)  sum_i 1[ some Y_j in B(X_i) ]       (the share of real balls reached)
        density  = (1/kM) sum_j sum_i 1[ Y_j in B(X_i) ]      (fake samples per real ball, over k)

    Coverage lies in [0, 1]; density is unbounded (fake samples crowded where real ones are
    dense exceed 1). For fake samples drawn from the real distribution, E[density] = 1 and
    E[coverage] = 1 - prod_{i=1..k} (N - i) / (N + M - i) (the paper's Lemmas 1 and 2; about
    1 - 2^-k for M = N). Unlike recall, the balls are the real set's, so a few fake outliers
    cannot inflate it. Open balls (``<``) as in the authors' implementation
    (clovaai/generative-evaluation-prdc): then ``fake`` equal to ``real`` gives coverage 1 and
    density exactly 1 when no two distances tie (each ball holds its centre and k - 1
    neighbours). ``k`` = 5 is the paper's choice. Float64, distances in blocks of
    :data:`DISTANCE_BLOCK` entries. Needs more than ``k`` real points and one fake point.
    Returns Python floats ``(coverage, density)``.
    """
    x_real, x_fake = _as_torch(real, "real"), _as_torch(fake, "fake")
    if x_real.shape[1] != x_fake.shape[1]:
        raise ValueError(f"real and fake must have the same dimension, got {x_real.shape[1]} and {x_fake.shape[1]}")
    if not len(x_fake):
        raise ValueError("coverage_density needs at least one fake point")
    radii = knn_radii(x_real, k)
    covered = torch.zeros(len(x_real), dtype=torch.bool)
    inside_count = 0
    for start, stop in _blocks(len(x_fake), len(x_real)):
        inside = torch.cdist(x_fake[start:stop], x_real) < radii  # (fake rows, real balls)
        inside_count += int(inside.sum())
        covered |= inside.any(dim=0)
    return covered.double().mean().item(), inside_count / (k * len(x_fake))

r"""Kernel maximum mean discrepancy between two samples (Gretton et al., 2012)."""
from __future__ import annotations

from collections.abc import Sequence

import torch


def gaussian_mmd(first: torch.Tensor, second: torch.Tensor, bandwidths: Sequence[float]) -> torch.Tensor:
    r"""The biased (V-statistic) MMD between the rows of ``first`` (n, d) and ``second`` (m, d):

    .. math::
        \mathrm{MMD}^2 = \frac{1}{n^2}\sum_{i,j} k(a_i, a_j) + \frac{1}{m^2}\sum_{i,j} k(b_i, b_j)
        - \frac{2}{nm}\sum_{i,j} k(a_i, b_j),
        \qquad k(a, b) = \frac{1}{|S|}\sum_{\sigma \in S} e^{-|a - b|^2 / 2\sigma^2}

    with :math:`S` the ``bandwidths``. Returns :math:`\sqrt{\mathrm{MMD}^2}`: the distance between
    the two empirical distributions' kernel mean embeddings, a metric (the Gaussian kernel is
    characteristic), 0 exactly when the two empirical distributions are equal, at most :math:`\sqrt 2`.
    """

    def mean_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        squared_distances = torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist").square()
        return torch.stack([torch.exp(-squared_distances / (2 * sigma**2)).mean() for sigma in bandwidths]).mean()

    squared = mean_kernel(first, first) + mean_kernel(second, second) - 2 * mean_kernel(first, second)
    return squared.clamp_min(0).sqrt()

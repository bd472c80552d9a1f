"""Digit-level measures of an MNIST model's samples and reconstructions, through the digit
classifier of :mod:`ali_opt.metrics.digit_classifier`.

Pure functions of features, predicted classes and labels (and, for
:func:`recon_class_accuracy`, of the classifier itself); Python numbers out.

- :func:`class_fid`, :func:`class_kid`: FID and KID (Heusel et al. 2017; Bińkowski et al.
  2018) computed, as in :mod:`ali_opt.metrics.sample_quality`, on the classifier's 128-d
  penultimate features instead of Inception's: what MNIST GAN papers report as FID.
- :func:`modes`: how many digit classes hold at least a tenth of a fair share of the samples.
- :func:`class_kl`: the KL divergence of the samples' class histogram from the test images'.
- :func:`recon_class_accuracy`: the fraction of images whose reconstruction is classified as
  the image's digit (ALI's claim: reconstructions keep the semantics rather than the pixels).

References:
    M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter. GANs trained by a two
    time-scale update rule converge to a local Nash equilibrium. NeurIPS 2017.
    M. Bińkowski, D. J. Sutherland, M. Arbel, A. Gretton. Demystifying MMD GANs. ICLR 2018.
    V. Dumoulin, I. Belghazi, B. Poole, O. Mastropietro, A. Lamb, M. Arjovsky, A. Courville.
    Adversarially learned inference. ICLR 2017.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .digit_classifier import CLASSES, DigitClassifier, classify
from .sample_quality import feature_reference, frechet_distance_to_reference, kernel_inception_distance

MODE_SHARE = 0.1
"""A class counts as a mode when it holds at least this fraction of a fair share (1/classes) of the samples."""


def class_fid(real_features, fake_features) -> float:
    """The Fréchet distance between Gaussians fitted to the real and the generated images'
    classifier features (N, D) and (n, D):

        class_fid = |mu_r - mu_f|^2 + tr(cov_r + cov_f - 2 (cov_r cov_f)^{1/2})

    (:func:`~ali_opt.metrics.sample_quality.frechet_distance_to_reference`, exact; 0 for a set
    against itself up to rounding). Needs at least 2 vectors in each set."""
    return frechet_distance_to_reference(fake_features, feature_reference(real_features))


def class_kid(real_features, fake_features, subsets: int = 100, subset_size: int = 1000) -> float:
    """The unbiased squared MMD between the real and generated features under the kernel
    k(x, y) = (x.y / D + 1)^3, averaged over ``subsets`` random subsets of
    m = min(``subset_size``, N, n) rows of each set
    (:func:`~ali_opt.metrics.sample_quality.kernel_inception_distance`, seed 0; its mean only).
    When m = N = n every subset is both whole sets, so one is computed instead of ``subsets``
    equal ones (the same value up to the order of summation)."""
    if min(subset_size, len(real_features), len(fake_features)) == len(real_features) == len(fake_features):
        subsets = 1
    return kernel_inception_distance(real_features, fake_features, subsets=subsets, subset_size=subset_size)[0]


def class_counts(predictions: torch.Tensor, classes: int = CLASSES) -> np.ndarray:
    """How many of ``predictions`` (class indices in 0..classes-1) fall in each class, int64 (classes,)."""
    return torch.bincount(predictions.detach().cpu().long(), minlength=classes).numpy()[:classes]


def modes(predictions: torch.Tensor, classes: int = CLASSES, share: float = MODE_SHARE) -> int:
    """The number of classes c whose fraction of the n samples is at least ``share`` of a fair share:

        modes = #{c : count_c / n >= share / classes}

    i.e. count_c >= share * n / classes (the threshold rounded to 9 decimals first, so that
    1% of 100 samples is 1 whatever binary rounding does). 10 for samples that cover every
    digit evenly, 1 for samples that are all one digit; 0 without samples."""
    counts = class_counts(predictions, classes)
    threshold = round(share * len(predictions) / classes, 9)
    return int((counts >= threshold).sum()) if len(predictions) else 0


def class_kl(predictions: torch.Tensor, reference_labels: torch.Tensor, classes: int = CLASSES) -> float:
    """KL(p || q) in nats, from the samples' class histogram p to the reference's q:

        KL(p || q) = sum_{c : p_c > 0} p_c log(p_c / q_c),
        p_c = n_c / n                     (n_c of the n ``predictions`` in class c),
        q_c = (m_c + 1) / (m + classes)   (m_c of the m ``reference_labels``; add-one smoothing).

    The direction: p is the samples', so KL is large when the samples put mass on digits the
    test images rarely show, or pile onto a few digits (all one digit against a uniform q:
    log(classes)). Empty bins of p add nothing (0 log 0 = 0); the add-one (Laplace)
    smoothing of q keeps every q_c > 0, so KL is always finite, and leaves a uniform q
    uniform: a uniform p against a uniform reference gives exactly 0. NaN without samples."""
    if len(predictions) == 0:
        return math.nan
    counts = class_counts(predictions, classes)
    p = counts / counts.sum()
    reference = class_counts(reference_labels, classes)
    q = (reference + 1) / (reference.sum() + classes)
    held = p > 0
    return float(np.sum(p[held] * np.log(p[held] / q[held])))


def recon_class_accuracy(classifier: DigitClassifier, reconstructions: torch.Tensor, labels: torch.Tensor,
                         batch_size: int = 500) -> float:
    """The fraction of images x_i whose reconstruction G(E(x_i)) the classifier assigns to x_i's digit:

        recon_class_accuracy = 1/N sum_i [argmax_c f_c(G(E(x_i))) = y_i]

    with ``reconstructions`` (N, 1, 28, 28) in [0, 1] in the order of ``labels`` (N,). With the
    images themselves as reconstructions it is the classifier's own accuracy, the ceiling a
    model's reconstructions are measured against (``classifier_accuracy``). NaN for N = 0."""
    if len(labels) == 0:
        return math.nan
    predictions = classify(classifier, reconstructions, batch_size)[1]
    return (predictions == labels.detach().cpu()).double().mean().item()

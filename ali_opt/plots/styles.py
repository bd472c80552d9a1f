"""Telling optimizers apart in print: each its own colour, line style and marker; a log axis
of step-size scales with every scale labelled; a small dodge so that optimizers measured at
the same scale do not hide one another; the reference lines (untrained model, real data).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullLocator
from matplotlib.transforms import blended_transform_factory

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
           "#000000")
"""tab10 without its grey (grey is for the reference lines), then black."""

LINE_STYLES = ("-", "--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 2, 2, 2)),
               (0, (4, 2, 1, 2)), (0, (2, 1)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
"""Ten combinations of colour, line style and marker, all three different from one entry to
the next; past ten the colours come round again, under another style and marker."""

UNTRAINED = dict(color="0.45", linestyle="--", linewidth=1.2)
FLOOR = dict(color="0.45", linestyle=":", linewidth=1.5)
MEAN_IMAGE = dict(color="0.45", linestyle="-.", linewidth=1.2)
DIVERGED = dict(marker="x", linestyle="none", markersize=9, mew=2.2)


def entry_styles(labels: Sequence[str]) -> dict[str, dict]:
    """Per label, in order: ``color``, ``linestyle`` and ``marker`` keyword arguments for plot."""
    return {label: dict(color=COLOURS[index % len(COLOURS)],
                        linestyle=LINE_STYLES[(index + index // len(COLOURS)) % len(LINE_STYLES)],
                        marker=MARKERS[(index + 3 * (index // len(COLOURS))) % len(MARKERS)])
            for index, label in enumerate(labels)}


def scale_axis(axis, scales: Sequence[float], label: str = "step-size scale (multiplies both players' lr)") -> None:
    """A log x-axis with a tick and a plain label (``1``, ``8``, ``64``, ``0.25``) at every scale
    and no other tick."""
    scales = sorted(set(float(scale) for scale in scales))
    axis.set_xscale("log")
    axis.xaxis.set_major_locator(FixedLocator(scales))
    axis.xaxis.set_minor_locator(NullLocator())
    axis.set_xticks(scales, [f"{scale:g}" for scale in scales])
    if scales:
        spread = _spacing(scales)
        axis.set_xlim(scales[0] / math.exp(0.45 * spread), scales[-1] * math.exp(0.45 * spread))
    axis.set_xlabel(label)


def dodge(scales: Sequence[float], index: int, count: int, all_scales: Sequence[float]) -> np.ndarray:
    """``scales`` moved a little along the log axis for the ``index``-th of ``count`` entries,
    the entries spread over a third of the smallest gap between neighbouring scales."""
    width = _spacing(sorted(set(all_scales))) / 3
    offset = (index - (count - 1) / 2) * width / max(count, 1)
    return np.asarray(scales, dtype=float) * math.exp(offset)


def reference_line(axis, value: float, style: dict, label: str) -> Line2D | None:
    """A horizontal line at ``value``, its label written on it at the left; None (nothing drawn)
    for NaN."""
    if not math.isfinite(value):
        return None
    axis.axhline(value, **style)
    # a second line at the same height (the untrained decoder outputs the mean image, so the two
    # MSE baselines coincide) writes its label after the first one's instead of over it
    labelled = [text for text in axis.texts
                if math.isclose(getattr(text, "reference_value", math.inf), value, rel_tol=1e-3)]
    x = 0.01 + sum(0.012 * len(text.get_text()) + 0.02 for text in labelled)
    text = axis.text(x, value, label, transform=blended_transform_factory(axis.transAxes, axis.transData),
                     color=style["color"], fontsize="x-small", va="bottom", ha="left")
    text.reference_value = value
    return Line2D([], [], **style, label=label)


def mark_top(axis, x: float, colour, count: int) -> None:
    """An x at the top of the panel at ``x`` (a seed that diverged), with the count when above 1."""
    transform = axis.get_xaxis_transform()
    axis.plot([x], [0.97], color=colour, transform=transform, **DIVERGED)
    if count > 1:
        axis.text(x, 0.90, str(count), transform=transform, color=colour, fontsize="x-small", ha="center",
                  va="top")


def _spacing(scales: Sequence[float]) -> float:
    """The smallest gap between neighbouring scales on the log axis (a factor 2 for one scale)."""
    gaps = np.diff(np.log(scales)) if len(scales) > 1 else []
    return float(min(gaps)) if len(gaps) else math.log(2)

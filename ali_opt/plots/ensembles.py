"""Curves of ensemble runs: the median member and a band from the lowest to the highest member.

One panel per metric; each optimizer (or any label) is one line, its median over members at
each logged step, with the band between the minimum and the maximum over the members still
training (frozen, diverged members are left out from their divergence on). Drawn on
matplotlib's Agg canvas and saved as PNG.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from optimizers import OPTIMIZERS

from .toy_games import optimizer_style


@dataclass(frozen=True)
class MemberCurves:
    """One label's logged values: ``values[metric]`` is (steps, members), NaN where a member is frozen."""

    steps: np.ndarray
    values: Mapping[str, np.ndarray]


def plot_member_bands(curves: Mapping[str, MemberCurves], metrics: Sequence[str], path: Path | str,
                      log_scale: Sequence[str] = (), title: str = "") -> Path:
    """One panel per metric in ``metrics``: median member (line) and min-max band over members."""
    figure = Figure(figsize=(4.6 * len(metrics), 4.0), layout="constrained")
    axes = figure.subplots(1, len(metrics), squeeze=False)[0]
    for axis, metric in zip(axes, metrics):
        for index, (label, curve) in enumerate(curves.items()):
            values = np.asarray(curve.values[metric], dtype=float)
            style = optimizer_style(label) if label in OPTIMIZERS else {"color": f"C{index % 10}"}
            with warnings.catch_warnings():  # a step where every member is frozen has no median
                warnings.simplefilter("ignore", RuntimeWarning)
                low, middle, high = np.nanmin(values, 1), np.nanmedian(values, 1), np.nanmax(values, 1)
            axis.plot(curve.steps, middle, label=f"{label} ({values.shape[1]} members)", **style)
            axis.fill_between(curve.steps, low, high, color=style["color"], alpha=0.15, linewidth=0)
        axis.set_xlabel("step")
        axis.set_ylabel(metric)
        if metric in log_scale:
            axis.set_yscale("log")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    if title:
        figure.suptitle(title)
    path = Path(path)
    figure.savefig(path, dpi=110)
    return path

"""Figures of the toy-game comparison: distance to equilibrium against gradient evaluations, and paths in the plane.

Optimizers keep one look in every figure: the colour says the scheme (simultaneous,
alternating, extragradient, ...), a solid line the SGD rule and a dashed line the Adam rule.
Figures are drawn on matplotlib's Agg canvas (no display needed) and saved as PNG.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from optimizers import OPTIMIZERS
from optimizers.rules import Adam

SCHEMES = list(dict.fromkeys(scheme for scheme, _ in OPTIMIZERS.values()))
"""The game schemes in registry order; each takes one colour of matplotlib's cycle (C0, C1, ...)."""


LOOKAHEAD_PREFIX = "lookahead_"
"""``lookahead_<name>``: optimizer ``name`` wrapped in lookahead, drawn dotted in its scheme's colour."""


def optimizer_style(name: str) -> dict:
    """Matplotlib line keywords for optimizer ``name``: colour by scheme, dashes for Adam, dots for lookahead."""
    if name.startswith(LOOKAHEAD_PREFIX):
        return {**optimizer_style(name[len(LOOKAHEAD_PREFIX):]), "linestyle": ":"}
    scheme, rule = OPTIMIZERS[name]
    return {"color": f"C{SCHEMES.index(scheme) % 10}", "linestyle": "--" if rule is Adam else "-"}


DISTANCE_CEILING = 1e4
"""A distance above this (or not finite) has left the panel: the line stops there, marked x."""

DISTANCE_FLOOR = 1e-16
"""Distances below this (machine precision; exact zeros included) are drawn at it."""


class DistanceCurve(NamedTuple):
    """One optimizer's run on one game: ``distances[t]`` after ``grad_evals[t]`` gradient
    evaluations (index 0: before the first step, at 0 evaluations)."""

    grad_evals: Sequence[float]
    distances: Sequence[float]


def visible_part(curve: DistanceCurve) -> tuple[np.ndarray, np.ndarray, bool]:
    """(x, y, escaped): the curve's points up to the first distance above :data:`DISTANCE_CEILING`
    or not finite (excluded; ``escaped`` says whether there was one), distances raised to
    :data:`DISTANCE_FLOOR`."""
    grad_evals, distances = np.asarray(curve.grad_evals, dtype=float), np.asarray(curve.distances, dtype=float)
    outside = np.flatnonzero(~(distances <= DISTANCE_CEILING))
    end = outside[0] if len(outside) else len(distances)
    return grad_evals[:end], np.maximum(distances[:end], DISTANCE_FLOOR), bool(len(outside))


def plot_distances(curves: Mapping[str, Mapping[str, DistanceCurve]], path: Path | str) -> Path:
    """One panel per game: distance to equilibrium (log scale) against gradient evaluations, one
    line per optimizer (``curves[game][optimizer]``), so that a step costing two evaluations
    (extragradient, alternating updates) is drawn twice as wide as a one-evaluation step. A line
    stops, marked x, where the distance leaves the panel (:data:`DISTANCE_CEILING`); distances
    below :data:`DISTANCE_FLOOR` are drawn at it."""
    figure = Figure(figsize=(4.5 * len(curves), 4.4), layout="constrained")
    axes = figure.subplots(1, len(curves), squeeze=False)[0]
    for ax, (game, by_optimizer) in zip(axes, curves.items()):
        for name, curve in by_optimizer.items():
            x, y, escaped = visible_part(curve)
            line, = ax.plot(x, y, label=name, linewidth=1.3, **optimizer_style(name))
            if escaped and len(x):
                ax.plot(x[-1], y[-1], marker="x", markersize=8, color=line.get_color())
        ax.set_yscale("log")
        ax.set_ylim(DISTANCE_FLOOR / 3, DISTANCE_CEILING * 3)
        ax.set_title(game)
        ax.set_xlabel("gradient evaluations")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("distance to equilibrium")
    figure.suptitle("the same number of steps of each optimizer, against gradient evaluations as it counts them "
                    "(a Hessian-vector product or a solver iteration counts one)", fontsize="medium")
    handles, labels = axes[0].get_legend_handles_labels()
    handles.append(Line2D([], [], linestyle="", marker="x", color="0.3"))
    labels.append(f"left the panel (> {DISTANCE_CEILING:.0e}, or not finite)")
    figure.legend(handles, labels, loc="outside lower center", ncol=5, fontsize="small")
    return _save(figure, path)


@dataclass(frozen=True)
class PlaneTrajectories:
    """Every optimizer's path on one game with two scalar parameters."""

    game: str
    axis_names: tuple[str, str]
    """The parameters on the horizontal and the vertical axis."""
    equilibrium: tuple[float, float]
    paths: Mapping[str, np.ndarray]
    """Per optimizer, the points before the first step and after each step, shape (steps + 1, 2)."""


def plot_trajectories(trajectories: PlaneTrajectories, path: Path | str, columns: int = 5) -> Path:
    """One panel per optimizer: its path from the start (circle) towards the equilibrium (star).

    Every panel shows the same square around the equilibrium, twice the starting distance
    wide on each side, so diverging paths leave it.
    """
    rows = -(-len(trajectories.paths) // columns)
    figure = Figure(figsize=(2.5 * columns, 2.6 * rows + 0.4), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    centre = np.asarray(trajectories.equilibrium)
    radius = 2 * max(np.linalg.norm(points[0] - centre) for points in trajectories.paths.values())
    for ax, (name, points) in zip(axes, trajectories.paths.items()):
        ax.plot(points[:, 0], points[:, 1], linewidth=1.0, **optimizer_style(name))
        ax.plot(*points[0], "o", color="black", markersize=4)
        ax.plot(*centre, "*", color="black", markersize=9)
        ax.set_xlim(centre[0] - radius, centre[0] + radius)
        ax.set_ylim(centre[1] - radius, centre[1] + radius)
        ax.set_aspect("equal")
        ax.set_title(name, fontsize="medium")
        ax.set_xlabel(trajectories.axis_names[0], labelpad=1)
        ax.set_ylabel(trajectories.axis_names[1], labelpad=1)
        ax.tick_params(labelsize="x-small")
    for ax in axes[len(trajectories.paths):]:
        ax.set_visible(False)
    figure.suptitle(f"{trajectories.game}: paths from the start (o) to the equilibrium (*)")
    return _save(figure, path)


def _save(figure: Figure, path: Path | str) -> Path:
    path = Path(path)
    figure.savefig(path, dpi=110)
    return path

"""Figures of the toy-game comparison: distance to equilibrium per step, and paths in the plane.

Optimizers keep one look in every figure: the colour says the scheme (simultaneous,
alternating, extragradient, ...), a solid line the SGD rule and a dashed line the Adam rule.
Figures are drawn on matplotlib's Agg canvas (no display needed) and saved as PNG.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

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


def plot_distances(curves: Mapping[str, Mapping[str, Sequence[float]]], path: Path | str) -> Path:
    """One panel per game: distance to equilibrium (log scale) against steps, one line per optimizer.

    ``curves[game][optimizer][t]`` is the distance after ``t`` steps.
    """
    figure = Figure(figsize=(4.5 * len(curves), 4.2), layout="constrained")
    axes = figure.subplots(1, len(curves), squeeze=False)[0]
    for ax, (game, by_optimizer) in zip(axes, curves.items()):
        for name, distances in by_optimizer.items():
            ax.plot(np.arange(len(distances)), distances, label=name, linewidth=1.3, **optimizer_style(name))
        ax.set_yscale("log")
        ax.set_title(game)
        ax.set_xlabel("steps")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("distance to equilibrium")
    handles, labels = axes[0].get_legend_handles_labels()
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

"""Metrics against a clock for groups of seeds, beside the real data's reference values.

The ALI reproduction's CIFAR-10 comparison draws reconstruction error against CPU time for
simultaneous updates and the stochastic extragradient method; :func:`metrics_vs_clock` draws
that figure for any logged metrics and clock (``cpu_time`` by default), one panel per
metric. Per group: the mean over its seeds with a min-max band, each seed's metric (logged
at evaluation steps) placed at the clock's value at those steps (interpolated between the
logging steps, :meth:`~ali_opt.records.runs.Run.clock_at`; :func:`~ali_opt.plots.curves.clock_band`).
A panel's reference (``Panel.reference``, e.g. the mean image's MSE for ``recon_mse`` or the
digit classifier's own accuracy, the ceiling of ``recon_class_accuracy``) is a metric logged
once at step 0; its mean over every run is a grey line.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from ..records.runs import Group  # noqa: E402
from ..records.selection import baseline  # noqa: E402
from ..records.tables import finite_mean  # noqa: E402
from .curves import CLOCK_LABELS, clock_band, group_colours, save_with_legend  # noqa: E402
from .styles import reference_line  # noqa: E402

REFERENCE_STYLES = ({"color": "0.5", "linestyle": "--", "linewidth": 1.2},
                    {"color": "0.5", "linestyle": ":", "linewidth": 1.5})
"""The grey lines of the panels' reference values, one style per panel in turn."""


@dataclass(frozen=True)
class Panel:
    """One metric to draw, its axis label, and the step-0 metric drawn as its reference (with
    the reference's legend label); ``log`` puts the metric on a log scale."""

    metric: str
    label: str
    reference: str = ""
    reference_label: str = ""
    log: bool = False


def metrics_vs_clock(groups: Sequence[Group], panels: Sequence[Panel], path: Path, clock: str = "cpu_time",
                     title: str = "", styles: Mapping[str, dict] | None = None, pdf: bool = False) -> list[Path]:
    """One panel per :class:`Panel`: each group's mean over seeds (line) and min-max (band) of the
    metric against ``clock``, and the reference's mean over every run (grey); PNG (and PDF)
    at ``path``, returning the paths written. ``styles`` gives each group label its line's
    ``color`` and ``linestyle`` (default: one colour per group, solid)."""
    styles = styles or {label: {"color": colour, "linestyle": "-"} for label, colour in group_colours(groups).items()}
    figure, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), layout="constrained", squeeze=False)
    references = []
    for index, (axis, panel) in enumerate(zip(axes[0], panels)):
        for group in groups:
            band = clock_band(group.runs, panel.metric, clock)
            if band is None:
                continue
            grid, mean, low, high = band
            axis.plot(grid, mean, **styles[group.label], marker="o" if grid[0] == grid[-1] else None)
            axis.fill_between(grid, low, high, color=styles[group.label]["color"], alpha=0.15, linewidth=0)
        if panel.reference:
            value = finite_mean(baseline(run, panel.reference) for group in groups for run in group.runs)
            line = reference_line(axis, value, REFERENCE_STYLES[index % len(REFERENCE_STYLES)],
                                  panel.reference_label or panel.reference)
            references += [line] if line is not None else []
        axis.set_xlabel(CLOCK_LABELS.get(clock, clock))
        axis.set_ylabel(panel.label)
        if panel.log:
            axis.set_yscale("log")
        axis.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    handles = [Line2D([], [], **styles[group.label], label=with_seeds(group)) for group in groups] + references
    return save_with_legend(figure, path, pdf, handles, [handle.get_label() for handle in handles])


def with_seeds(group: Group) -> str:
    """The group's label and its number of seeds, for the legend."""
    return f"{group.label} ({len(group.runs)} seed{'s' if len(group.runs) != 1 else ''})"

"""Figures comparing groups of runs: reconstruction error against time, losses, gradient norms.

Each public function draws one figure from a list of :class:`~ali_opt.records.runs.Group`
and saves it as PNG (and PDF when asked), returning the paths written. A group keeps its
colour in every figure (colours follow the order of the groups). Steps of different
optimizers cost different amounts (an extragradient step takes two gradients), so curves
against training progress are drawn against compute (:func:`compute_axis`: FLOPs when every
run logged them, else gradient evaluations), steps only where no run logged either.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import LogFormatter  # noqa: E402
from scipy.signal import lfilter  # noqa: E402

from ..records.runs import Group, Run  # noqa: E402
from ..records.selection import shared_compute_clock  # noqa: E402

EQUILIBRIUM_LOSS = 2 * math.log(2)
"""Both players' loss when the discriminator outputs 1/2 everywhere."""

GRID_POINTS = 200
"""Points of the common time grid that seeds are interpolated onto."""

CLOCK_LABELS = {
    "wall_time": "wall-clock time (s, training only)",
    "cpu_time": "CPU time (s, training only, all threads)",
}

COMPUTE_LABELS = {
    "flops": "FLOPs (cumulative, measured over the optimizer steps)",
    "grad_evals": "gradient evaluations (cumulative; extragradient: 2 per step)",
}
"""The cost axes, in order of preference, that stand in for steps when steps differ in cost."""


def compute_axis(groups: Sequence[Group]) -> str | None:
    """The cost clock every run logged, FLOPs before gradient evaluations; None for neither
    (then steps it is)."""
    return shared_compute_clock([run for group in groups for run in group.runs])


def group_colours(groups: Sequence[Group]) -> dict[str, tuple]:
    """One colour per group label, by the groups' order."""
    palette = plt.get_cmap("tab10" if len(groups) <= 10 else "tab20").colors
    return {group.label: palette[index % len(palette)] for index, group in enumerate(groups)}


def ema(values: np.ndarray, beta: float) -> np.ndarray:
    """Exponential moving average with bias correction, so early points are not pulled to 0."""
    values = np.asarray(values, dtype=float)
    averaged = lfilter([1 - beta], [1, -beta], values)
    return averaged / (1 - beta ** np.arange(1, len(values) + 1))


def recon_vs_time(groups: Sequence[Group], path: Path, pdf: bool = False) -> list[Path]:
    """Held-out ``recon_mse`` against wall-clock and CPU time: per group, the mean over seeds
    with a min-max band (:func:`clock_band`).

    ``recon_mse`` is logged at evaluation steps and the clocks at logging steps: a clock is
    interpolated at each evaluation step. Past the end of a seed's run (diverged or in
    progress) the mean and band go on over the seeds still running.
    """
    colours = group_colours(groups)
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True, layout="constrained")
    for group in groups:
        for axis, clock in zip(axes, CLOCK_LABELS):
            band = clock_band(group.runs, "recon_mse", clock)
            if band is None:
                continue
            grid, mean, low, high = band
            axis.plot(grid, mean, color=colours[group.label], marker="o" if grid[0] == grid[-1] else None)
            axis.fill_between(grid, low, high, color=colours[group.label], alpha=0.2, linewidth=0)
    for axis, (clock, label) in zip(axes, CLOCK_LABELS.items()):
        axis.set_xlabel(label)
        axis.set_title(f"against {label.split(' (')[0]}")
        axis.grid(alpha=0.3)
    _log_scale(axes[0])
    axes[0].set_ylabel("held-out reconstruction MSE\n(per pixel, pixels in [0, 1])")
    figure.suptitle("Held-out reconstruction error against training time (line: mean over seeds, band: min-max)")
    return save_with_legend(figure, path, pdf, *_group_entries(groups, colours))


def clock_band(runs: Sequence[Run], metric: str, clock: str):
    """Mean, min and max over ``runs`` of ``metric`` against ``clock``. Runs evaluated at the
    same steps are averaged evaluation by evaluation, each point at the mean of the runs'
    clocks there, so seeds whose clocks run at slightly different speeds give one curve to the
    last evaluation; otherwise (a run diverged or is still running) :func:`seed_band`."""
    curves = [run.curve(metric) for run in runs]
    series = [(run.clock_at(steps, clock), values) for run, (steps, values) in zip(runs, curves)]
    steps = [steps for steps, _ in curves]
    if not steps or not len(steps[0]) or any(not np.array_equal(steps[0], other) for other in steps[1:]):
        return seed_band(series)
    values = np.array([values for _, values in series], dtype=float)
    return np.mean([x for x, _ in series], axis=0), values.mean(axis=0), values.min(axis=0), values.max(axis=0)


def seed_band(series: Sequence[tuple[np.ndarray, np.ndarray]]):
    """Mean, min and max over ``(x, y)`` series interpolated onto a common grid spanning them
    all; at each grid point only the series covering it count. None without any point."""
    series = [(x, y) for x, y in series if len(x)]
    if not series:
        return None
    grid = np.linspace(min(x[0] for x, _ in series), max(x[-1] for x, _ in series), GRID_POINTS)
    stacked = np.full((len(series), GRID_POINTS), np.nan)
    for row, (x, y) in zip(stacked, series):
        covered = (grid >= x[0]) & (grid <= x[-1])
        row[covered] = np.interp(grid[covered], x, y)
    counted = ~np.all(np.isnan(stacked), axis=0)
    stacked = stacked[:, counted]
    return grid[counted], np.nanmean(stacked, axis=0), np.nanmin(stacked, axis=0), np.nanmax(stacked, axis=0)


def stability(groups: Sequence[Group], path: Path, pdf: bool = False, smooth: float | None = None) -> list[Path]:
    """``loss_d``, ``loss_g`` and their gap (rows) against steps and against compute (FLOPs
    when every run logged them, else gradient evaluations: steps of some optimizers cost
    more than others'), one line per run, the equilibrium as a dashed line; a diverged run
    ends in an x, named in the legend with its step. ``smooth``: EMA factor, or None for raw values."""
    colours = group_colours(groups)
    compute = compute_axis(groups)
    rows = (("loss_d", "discriminator loss", EQUILIBRIUM_LOSS), ("loss_g", "generator loss", EQUILIBRIUM_LOSS),
            ("loss_gap", "loss gap (loss_g - loss_d)", 0.0))
    figure, axes = plt.subplots(3, 2, figsize=(13, 9.5), sharex="col", layout="constrained")
    diverged = []
    for group in groups:
        for run in group.runs:
            for axes_row, (metric, _, _) in zip(axes, rows):
                steps, values = run.curve(metric)
                values = ema(values, smooth) if smooth else values
                for axis, x in zip(axes_row, (steps, run.clock_at(steps, compute) if compute else steps)):
                    axis.plot(x, values, color=colours[group.label], linewidth=1, alpha=0.85)
                    if run.diverged_at is not None and len(steps):
                        axis.plot(x[-1], values[-1], "x", color=colours[group.label], markersize=9, mew=2)
            if run.diverged_at is not None:
                diverged.append(Line2D([], [], color=colours[group.label], marker="x", linestyle="none", mew=2,
                                       label=f"{group.label}, seed {run.seed}: diverged at step {run.diverged_at}"))
    for axes_row, (metric, name, target) in zip(axes, rows):
        axes_row[0].set_ylabel(f"{name}\n(nats)")
        for axis in axes_row:
            axis.axhline(target, color="0.3", linestyle="--", linewidth=1)
            axis.grid(alpha=0.3)
    axes[-1][0].set_xlabel("training step")
    axes[-1][1].set_xlabel(COMPUTE_LABELS.get(compute, "training step (no run logged FLOPs or gradient evaluations)"))
    axes[0][0].set_title("against steps")
    axes[0][1].set_title(f"against {COMPUTE_LABELS[compute].split(' (')[0]}" if compute else "against steps")
    figure.suptitle(f"Losses and loss gap, one line per run ({_smoothing(smooth)})")
    equilibrium = Line2D([], [], color="0.3", linestyle="--", linewidth=1,
                         label=f"equilibrium: loss 2 log 2 = {EQUILIBRIUM_LOSS:.3f}, gap 0")
    return save_with_legend(figure, path, pdf, *_group_entries(groups, colours, [equilibrium, *diverged]))


def grad_norms(groups: Sequence[Group], path: Path, pdf: bool = False, smooth: float | None = None) -> list[Path]:
    """``grad_norm_d`` and ``grad_norm_g`` on a log scale against compute (FLOPs when every run
    logged them, else gradient evaluations, else steps), one line per run."""
    colours = group_colours(groups)
    compute = compute_axis(groups)
    panels = (("grad_norm_d", "discriminator"), ("grad_norm_g", "generator (encoder and decoder)"))
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True, layout="constrained")
    for group in groups:
        for run in group.runs:
            for axis, (metric, _) in zip(axes, panels):
                steps, values = run.curve(metric)
                axis.plot(run.clock_at(steps, compute) if compute else steps, ema(values, smooth) if smooth else values,
                          color=colours[group.label], linewidth=1, alpha=0.85)
    _log_scale(axes[0])
    for axis, (_, player) in zip(axes, panels):
        axis.set_title(f"{player} gradient")
        axis.set_xlabel(COMPUTE_LABELS.get(compute, "training step"))
        axis.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("gradient norm (L2 over all parameters)")
    figure.suptitle(f"Gradient norms, one line per run ({_smoothing(smooth)})")
    return save_with_legend(figure, path, pdf, *_group_entries(groups, colours))


def _with_seeds(group: Group) -> str:
    count = len(group.runs)
    return f"{group.label} ({count} seed{'s' if count != 1 else ''})"


class _PlainLogFormatter(LogFormatter):
    """Log-axis tick labels as plain numbers (0.03, not 3e-02) on the ticks LogFormatter labels."""

    def __call__(self, value, pos=None):
        return f"{value:g}" if super().__call__(value, pos) else ""


def _log_scale(axis) -> None:
    """A log y-axis (shared by the figure's panels) with ticks read as plain numbers."""
    axis.set_yscale("log")
    for ticks in (axis.yaxis.set_major_formatter, axis.yaxis.set_minor_formatter):
        ticks(_PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def _smoothing(smooth: float | None) -> str:
    return f"smoothed: EMA, beta={smooth:g}" if smooth else "raw values, not smoothed"


def _group_entries(groups: Sequence[Group], colours: dict, extra: Sequence[Line2D] = ()) -> tuple[list, list[str]]:
    """Legend entries: one line per group, then ``extra``."""
    handles = [Line2D([], [], color=colours[group.label], label=_with_seeds(group)) for group in groups]
    handles += extra
    return handles, [handle.get_label() for handle in handles]


def save_with_legend(figure, path: Path, pdf: bool, handles: list, labels: list[str]) -> list[Path]:
    """Add the legend below the panels, write ``path`` as PNG (and PDF), close the figure."""
    figure.legend(handles, labels, loc="outside lower center", ncols=min(3, len(handles)), fontsize="small",
                  frameon=False)
    written = [path.with_suffix(".png")] + ([path.with_suffix(".pdf")] if pdf else [])
    for target in written:
        figure.savefig(target, dpi=150)
    plt.close(figure)
    return written

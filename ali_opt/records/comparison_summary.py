"""The summary table of a comparison: one row per group, as Markdown and CSV.

Per run: the held-out ``recon_mse`` at the last and at the best evaluation, the training
wall time at the first evaluation at or below the target MSE, steps per second (last
logged step over its ``wall_time``) and the gradient evaluations logged last. Per group:
the mean over its seeds of each, counting the seeds that have the value.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .runs import Group, Run
from .tables import finite_mean, is_nan, markdown_table, write_csv

COLUMNS = {
    "group": "optimizer",
    "seeds": "seeds",
    "final_mse": "final held-out MSE",
    "best_mse": "best held-out MSE",
    "time_to_target_s": "wall s to target",
    "reached_target": "seeds at target",
    "diverged": "diverged",
    "steps_per_s": "steps/s",
    "grad_evals": "grad evals",
}
"""CSV column names, and the headers of the Markdown table."""


def summarize(groups: Sequence[Group], target_mse: float | None = None) -> tuple[list[dict], float]:
    """One row per group (keys: :data:`COLUMNS`; NaN where no seed has the value) and the
    target MSE used: ``target_mse``, or by default the worst group's best MSE."""
    best = [finite_mean(_best_mse(run) for run in group.runs) for group in groups]
    if target_mse is None:
        target_mse = max((value for value in best if math.isfinite(value)), default=math.nan)
    rows = []
    for group, best_mse in zip(groups, best):
        times = [_time_to(run, target_mse) for run in group.runs]
        rows.append({
            "group": group.label,
            "seeds": len(group.runs),
            "final_mse": finite_mean(run.last_value("recon_mse") for run in group.runs),
            "best_mse": best_mse,
            "time_to_target_s": finite_mean(times),
            "reached_target": f"{sum(map(math.isfinite, times))}/{len(times)}",
            "diverged": sum(run.diverged_at is not None for run in group.runs),
            "steps_per_s": finite_mean(_steps_per_second(run) for run in group.runs),
            "grad_evals": finite_mean(run.last_value("grad_evals") for run in group.runs),
        })
    return rows, target_mse


def write_summary(groups: Sequence[Group], out: Path, target_mse: float | None = None) -> list[Path]:
    """Write ``summary.md`` and ``summary.csv`` into ``out``; return their paths."""
    rows, target_mse = summarize(groups, target_mse)
    markdown, table = out / "summary.md", out / "summary.csv"
    markdown.write_text(_markdown(rows, target_mse))
    write_csv(table, list(COLUMNS), rows)
    return [markdown, table]


def _markdown(rows: list[dict], target_mse: float) -> str:
    lines = markdown_table(list(COLUMNS.values()), [[_cell(key, row[key]) for key in COLUMNS] for row in rows])
    notes = (f"Means over seeds. Held-out MSE: per pixel, pixels in [0, 1]. Target MSE: {target_mse:.4g}; "
             "time to target: training wall seconds (evaluation excluded) to the first evaluation at or "
             "below it, over the seeds that reached it. Steps/s: last logged step over its wall time. "
             "Grad evals: cumulative gradient evaluations at the last logged step.")
    return "\n".join(lines) + "\n\n" + notes + "\n"


def _cell(key: str, value) -> str:
    if is_nan(value):
        return "—"
    formats = {"final_mse": "{:.4g}", "best_mse": "{:.4g}", "time_to_target_s": "{:.1f}", "steps_per_s": "{:.2f}",
               "grad_evals": "{:.0f}"}
    return formats.get(key, "{}").format(value)


def _best_mse(run: Run) -> float:
    values = run.curve("recon_mse")[1]
    finite = values[np.isfinite(values)]
    return float(finite.min()) if len(finite) else math.nan


def _time_to(run: Run, target_mse: float) -> float:
    """Training wall seconds at the first evaluation at or below ``target_mse``; NaN if none."""
    steps, values = run.curve("recon_mse")
    reached = np.flatnonzero(values <= target_mse)
    return float(run.clock_at(steps[reached[:1]])[0]) if len(reached) else math.nan


def _steps_per_second(run: Run) -> float:
    steps, seconds = run.curve("wall_time")
    return float(steps[-1] / seconds[-1]) if len(steps) and seconds[-1] > 0 else math.nan

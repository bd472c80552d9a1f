"""The summary table of a comparison: one row per group, as Markdown and CSV.

Per run: the held-out ``recon_mse`` at the last and at the best evaluation, the training
wall time at the first evaluation at or below the target MSE, steps per second (last
logged step over its ``wall_time``) and the gradient evaluations logged last. Per group:
the mean over its seeds of each, counting the seeds that have the value.
"""
from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..records.runs import Group, Run

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
    best = [_mean([_best_mse(run) for run in group.runs]) for group in groups]
    if target_mse is None:
        target_mse = max((value for value in best if math.isfinite(value)), default=math.nan)
    rows = []
    for group, best_mse in zip(groups, best):
        times = [_time_to(run, target_mse) for run in group.runs]
        rows.append({
            "group": group.label,
            "seeds": len(group.runs),
            "final_mse": _mean([_last(run, "recon_mse") for run in group.runs]),
            "best_mse": best_mse,
            "time_to_target_s": _mean(times),
            "reached_target": f"{sum(map(math.isfinite, times))}/{len(times)}",
            "diverged": sum(run.diverged_at is not None for run in group.runs),
            "steps_per_s": _mean([_steps_per_second(run) for run in group.runs]),
            "grad_evals": _mean([_last(run, "grad_evals") for run in group.runs]),
        })
    return rows, target_mse


def write_summary(groups: Sequence[Group], out: Path, target_mse: float | None = None) -> list[Path]:
    """Write ``summary.md`` and ``summary.csv`` into ``out``; return their paths."""
    rows, target_mse = summarize(groups, target_mse)
    markdown, table = out / "summary.md", out / "summary.csv"
    markdown.write_text(_markdown(rows, target_mse))
    with table.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows({key: "" if _is_nan(value) else value for key, value in row.items()} for row in rows)
    return [markdown, table]


def _markdown(rows: list[dict], target_mse: float) -> str:
    lines = [
        "| " + " | ".join(COLUMNS.values()) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + "|",
        *("| " + " | ".join(_cell(key, row[key]) for key in COLUMNS) + " |" for row in rows),
    ]
    notes = (f"Means over seeds. Held-out MSE: per pixel, pixels in [0, 1]. Target MSE: {target_mse:.4g}; "
             "time to target: training wall seconds (evaluation excluded) to the first evaluation at or "
             "below it, over the seeds that reached it. Steps/s: last logged step over its wall time. "
             "Grad evals: cumulative gradient evaluations at the last logged step.")
    return "\n".join(lines) + "\n\n" + notes + "\n"


def _cell(key: str, value) -> str:
    if _is_nan(value):
        return "—"
    formats = {"final_mse": "{:.4g}", "best_mse": "{:.4g}", "time_to_target_s": "{:.1f}", "steps_per_s": "{:.2f}",
               "grad_evals": "{:.0f}"}
    return formats.get(key, "{}").format(value)


def _is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _mean(values: Sequence[float]) -> float:
    """Mean of the finite values; NaN when there is none."""
    finite = [value for value in values if math.isfinite(value)]
    return float(np.mean(finite)) if finite else math.nan


def _last(run: Run, metric: str) -> float:
    values = run.curve(metric)[1]
    return float(values[-1]) if len(values) else math.nan


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

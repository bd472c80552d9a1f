"""Every figure and the summary table of a set of grouped runs, in one call."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..records.runs import Group
from ..records.selection import sweep_runs
from .curves import grad_norms, recon_vs_time, stability
from .spectrum import spectra
from .summary import write_summary
from .sweep import draw_sweep


def draw_all(groups: Sequence[Group], out: Path, pdf: bool = False, target_mse: float | None = None,
             smooth: float | None = None) -> list[Path]:
    """Every figure and the summary table of ``groups``, written into ``out``; the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sweep = sweep_runs([run for group in groups for run in group.runs])
    return [
        *recon_vs_time(groups, out / "recon_vs_time.png", pdf),
        *stability(groups, out / "stability.png", pdf, smooth),
        *grad_norms(groups, out / "grad_norms.png", pdf, smooth),
        *spectra(groups, out / "spectrum.png", pdf),
        *(draw_sweep(sweep, out, pdf) if sweep else write_summary(groups, out, target_mse)),
    ]

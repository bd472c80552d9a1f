"""Every figure and the summary table of a set of grouped runs, in one call."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..records.comparison_summary import write_summary
from ..records.runs import Group
from ..records.selection import Cells, select_with, selection_rule, sweep_runs
from ..records.step_size_summary import write_sweep_summary
from .curves import grad_norms, recon_vs_time, stability
from .spectrum import spectra
from .step_size_figures import draw_sweep


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
        *(sweep_figures_and_summary(sweep, out, pdf) if sweep else write_summary(groups, out, target_mse)),
    ]


def sweep_figures_and_summary(cells: Cells, out: Path, pdf: bool = False) -> list[Path]:
    """The figures and the summary tables of a step-size sweep's ``cells``, at the scales that
    the rule :func:`~ali_opt.records.selection.selection_rule` resolves selects."""
    rule = selection_rule(cells)
    selected = select_with(cells, rule)
    return [*draw_sweep(cells, Path(out), pdf, rule, selected), *write_sweep_summary(cells, selected, out, rule)]

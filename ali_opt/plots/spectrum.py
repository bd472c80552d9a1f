"""The eigenvalues a run logged (``spectrum_every``) in the complex plane over training, one panel per group:
the largest in modulus (``which="LM"``, the stiff ones; dots) and, where the run logged them, the
largest in imaginary part (``which="LI"``, the rotation; crosses), see :func:`ali_opt.spectrum.logged_spectrum`."""
from __future__ import annotations

from collections.abc import Sequence
from itertools import count
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from ..records.runs import Group, Run  # noqa: E402


SYMLOG_LINEAR = 1.0
"""Both axes are linear within +-1 and logarithmic beyond: eigenvalues span orders of magnitude."""


KINDS = {"eig": ("largest modulus (LM)", "o"), "eig_li": ("largest imaginary part (LI)", "x")}
"""The logged eigenvalue sets: name prefix -> (legend, marker)."""


def logged_eigenvalues(run: Run, prefix: str = "eig") -> tuple[np.ndarray, np.ndarray]:
    """(steps, eigenvalues) of every ``<prefix>_real_<i>`` / ``<prefix>_imag_<i>`` pair the run
    logged, flattened (``prefix`` ``"eig"``: the LM set, ``"eig_li"``: the LI set)."""
    steps, values = [], []
    for index in count():
        real_steps, real = run.curve(f"{prefix}_real_{index}")
        imag_steps, imag = run.curve(f"{prefix}_imag_{index}")
        if not len(real_steps):
            break
        shared, at_real, at_imag = np.intersect1d(real_steps, imag_steps, return_indices=True)
        steps.append(shared)
        values.append(real[at_real] + 1j * imag[at_imag])
    if not steps:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=complex)
    return np.concatenate(steps), np.concatenate(values)


def spectra(groups: Sequence[Group], path: Path, pdf: bool = False) -> list[Path]:
    """Each group's logged eigenvalues (all its seeds; LM as dots, LI as crosses) as points in the
    complex plane, coloured by step, on symmetric-log axes; nothing is written when no run logged
    a spectrum."""
    found = {group.label: [(prefix, *logged_eigenvalues(run, prefix)) for run in group.runs for prefix in KINDS]
             for group in groups}
    found = {label: sets for label, sets in found.items() if any(len(steps) for _, steps, _ in sets)}
    if not found:
        return []
    last_step = max(int(steps.max()) for sets in found.values() for _, steps, _ in sets if len(steps))
    drawn = set()
    norm = Normalize(vmin=0, vmax=last_step)
    figure, axes = plt.subplots(1, len(found), figsize=(4.4 * len(found) + 0.8, 4.2), squeeze=False,
                                layout="constrained")
    for ax, (label, sets) in zip(axes[0], found.items()):
        for prefix, steps, values in sets:
            if len(steps):
                drawn.add(prefix)
                points = ax.scatter(values.real, values.imag, c=steps, cmap="viridis", norm=norm,
                                    marker=KINDS[prefix][1], s=18 if prefix == "eig_li" else 14, alpha=0.85)
        ax.margins(0.06)
        ax.axvline(0, color="0.6", linewidth=0.8)
        ax.axhline(0, color="0.6", linewidth=0.8)
        ax.set_xscale("symlog", linthresh=SYMLOG_LINEAR)
        ax.set_yscale("symlog", linthresh=SYMLOG_LINEAR)
        ax.set_title(label, fontsize="small")
        ax.set_xlabel("real part")
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("imaginary part")
    figure.colorbar(points, ax=axes[0].tolist(), label="step")
    handles = [Line2D([], [], linestyle="", marker=KINDS[prefix][1], color="0.3", label=KINDS[prefix][0])
               for prefix in KINDS if prefix in drawn]
    figure.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize="small", frameon=False)
    figure.suptitle("eigenvalues of the game's Jacobian on a fixed batch", fontsize="medium")
    written = [path.with_suffix(".png")] + ([path.with_suffix(".pdf")] if pdf else [])
    for target in written:
        figure.savefig(target, dpi=150)
    plt.close(figure)
    return written

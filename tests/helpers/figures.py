"""Figures in tests: keep what a figure module saves, so that its axes can be read."""
from __future__ import annotations

from types import ModuleType


def capture_saved_figures(monkeypatch, module: ModuleType) -> dict:
    """Patch ``module.save_with_legend`` so that every figure it saves is also kept, by file
    name, in the returned dict (the file is still written)."""
    drawn = {}
    save = module.save_with_legend

    def keep(figure, path, *arguments):
        drawn[path.name] = figure
        return save(figure, path, *arguments)

    monkeypatch.setattr(module, "save_with_legend", keep)
    return drawn

"""Figures: image grids of runs, curves of studies, toy-game pictures."""

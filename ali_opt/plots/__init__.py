"""Figures: image grids of runs, curves of comparisons, toy-game pictures."""

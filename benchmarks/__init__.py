"""Benchmarks of the toolkit (each a ``python -m benchmarks.<name>`` command)."""

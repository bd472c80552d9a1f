"""Benchmarks: measured, not asserted (run them on a quiet machine; see the README)."""

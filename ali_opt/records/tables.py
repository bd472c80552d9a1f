"""The cells of the summary tables: means over seeds that skip missing values, and the writing
of CSV and Markdown tables (a missing value, NaN, is an empty CSV cell and a dash in Markdown)."""
from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np


def finite_mean(values: Iterable[float]) -> float:
    """The mean of the finite ``values`` (seeds that have the value); NaN when there is none."""
    finite = [value for value in values if math.isfinite(value)]
    return float(np.mean(finite)) if finite else math.nan


def is_nan(value) -> bool:
    """Whether a table cell holds a missing number (a float NaN; strings and ints never are)."""
    return isinstance(value, float) and math.isnan(value)


def write_csv(path: Path, fieldnames: Sequence[str], rows: Iterable[dict]) -> None:
    """``rows`` as CSV with a header of ``fieldnames``; NaN written as an empty cell."""
    with Path(path).open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(fieldnames))
        writer.writeheader()
        writer.writerows({key: "" if is_nan(value) else value for key, value in row.items()} for row in rows)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """The lines of a Markdown table: the first column left-aligned, the others right-aligned."""
    return ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
            *("| " + " | ".join(row) + " |" for row in rows)]


def format_number(value, digits: int = 4) -> str:
    """A number to ``digits`` significant digits; a string as it is; None and NaN as a dash."""
    if isinstance(value, str):
        return value
    if value is None or is_nan(value):
        return "—"
    return f"{value:.{digits}g}"

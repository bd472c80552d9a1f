"""The optimizers stand alone: importing them pulls in no experiment framework."""
from __future__ import annotations

import subprocess
import sys


def test_optimizers_import_without_sacred():
    code = "import optimizers, sys; assert 'sacred' not in sys.modules, 'optimizers imported sacred'"
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr

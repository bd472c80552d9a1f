"""Tests that need something installed: skipped where it is missing, failed where CI promised it."""
from __future__ import annotations

import os

import pytest


def require(missing: list[str], what: str, how: str) -> None:
    """Skip the test when ``missing`` is not empty, unless the ``CI`` variable is set (``.ci/run``
    installs everything), in which case fail it: in CI a missing tool is a broken set-up."""
    if not missing:
        return
    if not os.environ.get("CI"):
        pytest.skip(f"{what} is not installed here (missing: {', '.join(missing)}); {how}")
    pytest.fail(f"CI is set but {what} is not installed (missing: {', '.join(missing)}); {how}")

"""The Python modules of the documented packages, found on disk by their files."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTED_PACKAGES = ("ali_opt", "optimizers")


def module_name(path: Path, root: Path = ROOT) -> str:
    """``ali_opt/metrics/probe.py`` -> ``ali_opt.metrics.probe``; a package's ``__init__.py`` is
    the package itself."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def documented_modules(root: Path = ROOT) -> list[str]:
    """Every module and package of :data:`DOCUMENTED_PACKAGES`, sorted by name."""
    names = {module_name(path, root)
             for package in DOCUMENTED_PACKAGES
             for path in (root / package).rglob("*.py")
             if "__pycache__" not in path.parts}
    return sorted(names)

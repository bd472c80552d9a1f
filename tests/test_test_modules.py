"""No test module imports another test module: code that several tests share lives in
tests/helpers/ (and fixtures in conftest.py, which pytest loads itself)."""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SHARED = "tests.helpers"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, module: str, is_package: bool = False) -> set[str]:
    """The modules that ``source`` (the module ``module``) imports anywhere, functions included,
    relative imports resolved; for ``from a import b``, both ``a`` and ``a.b``."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
            prefix = ".".join(part for part in (base, node.module or "") if part)
            names |= {prefix} | {f"{prefix}.{alias.name}" for alias in node.names}
    return names


def imported_test_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """The test modules (files under tests/, outside tests/helpers/) that ``source`` imports."""
    return {name for name in imported(source, module, is_package)
            if name.startswith("tests.") and not name.startswith(SHARED + ".") and name != SHARED
            and (ROOT / name.replace(".", "/")).with_suffix(".py").is_file()}


def test_no_test_module_imports_another():
    modules = [path for path in sorted(TESTS.rglob("*.py")) if "helpers" not in path.relative_to(TESTS).parts]
    found = {module_name(path): sorted(imported_test_modules(path.read_text(), module_name(path),
                                                             path.name == "__init__.py")) for path in modules}
    assert {name: imports for name, imports in found.items() if imports} == {}
    assert "tests.ali.test_training" in found and len(found) > 40  # every test module was read


def test_the_check_sees_absolute_relative_and_nested_imports():
    source = ("from tests.ali.test_training import run\n"
              "def f():\n    from .test_models import x\n    from tests.helpers.runs import run\n"
              "from tests.records import test_selection\nimport tests.records.test_plots\n")
    assert imported_test_modules(source, "tests.ali.test_example") == {
        "tests.ali.test_training", "tests.ali.test_models", "tests.records.test_selection", "tests.records.test_plots"}

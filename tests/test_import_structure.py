"""The import structure of ali_opt/ and optimizers/: every import at the top of its module
(none hidden inside a function), no circle among the modules, and figures that only draw."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ali_opt", "optimizers")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_inside_functions(tree: ast.AST) -> list[int]:
    """The lines of the import statements inside a function or method of ``tree``."""
    return sorted({inner.lineno for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for inner in ast.walk(node) if isinstance(inner, (ast.Import, ast.ImportFrom))})


def imported_modules(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules among ``known`` that ``module`` imports (``from a import b``: ``a.b`` when a module, else ``a``)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
            prefix = ".".join(part for part in (base, node.module or "") if part)
            names = [f"{prefix}.{alias.name}" for alias in node.names] + [prefix]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module and not name.startswith(module + "."):  # a package's own submodules
                found.add(name)
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, 1972)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_import_is_at_the_top_of_its_module():
    hidden = {str(path.relative_to(ROOT)): lines for path in modules().values()
              if (lines := imports_inside_functions(ast.parse(path.read_text())))}
    assert hidden == {}


def test_no_import_circle():
    found = modules()
    graph = {module: imported_modules(ast.parse(path.read_text()), module, path.name == "__init__.py", set(found))
             for module, path in found.items()}
    assert "ali_opt.records.runs" in graph["ali_opt.records.selection"]  # the graph is read
    assert circles(graph) == []


TESTS_AND_TABLES = {"scipy.stats", "csv", *(f"ali_opt.records.statistics.{name}" for name in (
    "permutation_p", "paired_permutation_p", "compare_pairs", "compare_pairs_fully", "holm", "equivalence_p"))}
"""What a figure module must not import: statistical tests and table writing belong to ali_opt.records."""


def test_figures_compute_no_test_and_write_no_table():
    found = modules()
    plots = {module: path for module, path in found.items() if module.startswith("ali_opt.plots")}
    assert "ali_opt.plots.step_size_figures" in plots
    imports = {module: imported_modules(ast.parse(path.read_text()), module, path.name == "__init__.py",
                                        set(found) | TESTS_AND_TABLES) & TESTS_AND_TABLES
               for module, path in plots.items()}
    assert {module: names for module, names in imports.items() if names} == {}


def test_the_checks_find_a_hidden_import_and_a_circle():
    source = "import os\ndef f():\n    from .b import x\n"
    tree = ast.parse(source)
    assert imports_inside_functions(tree) == [3]
    known = {"p", "p.a", "p.b", "p.c"}
    graph = {"p.a": imported_modules(tree, "p.a", False, known), "p.b": {"p.c"}, "p.c": {"p.a"}, "p": set()}
    assert graph["p.a"] == {"p.b"} and circles(graph) == [["p.a", "p.b", "p.c"]]

"""MkDocs hook: every module of ``ali_opt/`` and ``optimizers/`` rendered on exactly one API page.

Each page under ``docs/api/`` names the modules it covers in its front matter::

    ---
    modules: [ali_opt.metrics.*]
    ---

A pattern is a module's name, or ``package.*`` for the package and everything below it. A module
goes to the page whose pattern names it most closely (its own name first, then the longest
package). The page's own ``::: module`` lines keep their place and order; the hook appends a
``::: module`` line for each other module the page covers, sorted by name. So a new module shows
up without editing any page, and the build fails, naming the modules, if one belongs to no page
or a page renders a module that belongs to another (a module rendered twice).
"""
from __future__ import annotations

import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.utils.meta import get_data

# MkDocs puts this file's folder on sys.path while it loads a hook.
from documented_modules import ROOT, documented_modules

API_FOLDER = "api/"
RENDERED = re.compile(r"^::: *([\w.]+)", re.MULTILINE)

_pages: dict[str, list[str]] = {}
"""Page source path (``api/metrics.md``) -> the modules it renders, in order; set by ``on_files``."""


def _closeness(pattern: str, module: str) -> int | None:
    """How closely ``pattern`` names ``module``: None when it does not, higher when closer."""
    if pattern == module:
        return 10_000
    if pattern.endswith(".*"):
        package = pattern[:-2]
        if module == package or module.startswith(package + "."):
            return package.count(".") + 1
    return None


def assign(patterns: dict[str, list[str]], modules: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Each module to the page whose pattern names it most closely.

    Returns (page -> its modules, sorted; the modules no page covers)."""
    pages: dict[str, list[str]] = {page: [] for page in patterns}
    unclaimed = []
    for module in modules:
        scores = [(score, page) for page, page_patterns in patterns.items()
                  for score in [max((_closeness(p, module) or -1) for p in page_patterns)] if score >= 0]
        if not scores:
            unclaimed.append(module)
            continue
        best = max(score for score, _ in scores)
        winners = sorted(page for score, page in scores if score == best)
        if len(winners) > 1:
            raise PluginError(f"API reference: {module} is claimed equally by {', '.join(winners)}")
        pages[winners[0]].append(module)
    return pages, unclaimed


def on_files(files, config):
    patterns = {}
    for file in files:
        if file.src_uri.startswith(API_FOLDER) and file.src_uri.endswith(".md"):
            _, meta = get_data(Path(file.abs_src_path).read_text(encoding="utf-8"))
            if meta.get("modules"):
                patterns[file.src_uri] = list(meta["modules"])
    pages, unclaimed = assign(patterns, documented_modules(ROOT))
    if unclaimed:
        raise PluginError("API reference: no page under docs/api/ covers "
                          f"{', '.join(unclaimed)}; add a pattern to a page's `modules:`")
    _pages.clear()
    _pages.update(pages)
    return files


def on_page_markdown(markdown, page, config, files):
    covered = _pages.get(page.file.src_uri)
    if covered is None:
        return markdown
    written = RENDERED.findall(markdown)
    foreign = [module for module in written if module not in covered]
    if foreign:
        raise PluginError(f"API reference: {page.file.src_uri} renders {', '.join(foreign)}, "
                          "which its `modules:` patterns do not give it")
    missing = [module for module in covered if module not in written]
    return markdown.rstrip("\n") + "\n" + "".join(f"\n::: {module}\n" for module in missing)

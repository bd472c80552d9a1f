"""The documentation: the site builds with ``mkdocs build --strict``, its API reference renders
every module of ``ali_opt/`` and ``optimizers/`` once with no raw reST markup, the file tree on its
first page matches the files, the README is a short front door whose relative links resolve, and
the Python examples of the README and the guides run and print what they say.

Without MkDocs installed the build test is skipped, unless the ``CI`` variable is set (``.ci/run``
installs the ``docs`` extra), in which case it fails.
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from docs_build import file_tree
from docs_build.documented_modules import documented_modules
from tests.helpers.requirements import require
from tests.helpers.runs import run

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_LIMIT = 12_000
DOCS_MODULES = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _missing_docs_modules() -> list[str]:
    missing = []
    for name in DOCS_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(name)
    return missing


GETTING_STARTED = ROOT / "docs" / "getting-started.md"
GUIDES_WITH_SELF_CONTAINED_EXAMPLES = (ROOT / "docs" / "games.md", ROOT / "docs" / "new-game.md")
REST_MARKUP = re.compile(r":(?:math|class|func|meth|attr|data|mod|exc|obj):`|\.\. math::")


def _require_docs_tools():
    require(_missing_docs_modules(), "MkDocs", "pip install -e '.[docs]' as .ci/run does")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built once with ``mkdocs build --strict``."""
    _require_docs_tools()
    site = tmp_path_factory.mktemp("docs") / "site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert built.returncode == 0, f"mkdocs build --strict failed:\n{built.stdout}\n{built.stderr}"
    return site


def _api_html(site: Path) -> dict[Path, str]:
    return {page: page.read_text(encoding="utf-8") for page in sorted((site / "api").rglob("*.html"))}


def test_the_site_builds_strictly(site):
    assert (site / "index.html").is_file()


def test_the_api_reference_renders_every_module_once(site):
    headings = Counter(re.findall(r'id="([\w.]+)"', "".join(_api_html(site).values())))
    modules = documented_modules()
    assert len(modules) > 100, modules
    assert [module for module in modules if headings[module] == 0] == [], "modules missing from the API reference"
    twice = {name: count for name, count in headings.items() if count > 1 and name.split(".")[0] in ("ali_opt", "optimizers")}
    assert twice == {}, "objects rendered more than once"


def test_the_api_reference_shows_maths_and_links_not_rest_markup(site):
    pages = _api_html(site)
    raw = {page.parent.name: REST_MARKUP.findall(text) for page, text in pages.items() if REST_MARKUP.search(text)}
    assert raw == {}
    optimizers = pages[site / "api" / "optimizers" / "index.html"]
    assert optimizers.count('class="arithmatex"') > 50
    # :class:`~optimizers.base.GameOptimizer` in a docstring is a link to its heading
    assert re.search(r'<a[^>]*href="#optimizers\.base\.GameOptimizer"', optimizers)
    # each public class with a constructor has a parameter section: Extragradient's lists resample
    extragradient = optimizers[optimizers.index('id="optimizers.extragradient.Extragradient"'):]
    section = extragradient[:extragradient.index('id="optimizers.extragradient.ExtraAdam"')] \
        if 'id="optimizers.extragradient.ExtraAdam"' in extragradient else extragradient[:20_000]
    assert "Parameters" in section and "<code>resample</code>" in section


def test_every_module_belongs_to_the_page_that_names_it_most_closely():
    _require_docs_tools()
    sys.path.insert(0, str(ROOT / "docs_build"))
    try:
        from docs_build.api_pages import assign
    finally:
        sys.path.remove(str(ROOT / "docs_build"))
    patterns = {"a.md": ["pkg.*"], "b.md": ["pkg.sub.*"], "c.md": ["pkg.sub.special", "pkg.solo"]}
    modules = ["other", "pkg", "pkg.mod", "pkg.solo", "pkg.sub", "pkg.sub.mod", "pkg.sub.special", "pkgx"]
    pages, unclaimed = assign(patterns, modules)
    assert pages == {"a.md": ["pkg", "pkg.mod"], "b.md": ["pkg.sub", "pkg.sub.mod"],
                     "c.md": ["pkg.solo", "pkg.sub.special"]}
    assert unclaimed == ["other", "pkgx"]


def test_math_directives_become_mathjax_displays():
    _require_docs_tools()
    from docs_build.rest_markup import rewrite_math_blocks, rewrite_math_roles
    text = "Rule.\n\n    .. math::\n        a = b,\\\\\n        c = d\n\n    with :math:`a`.\n.. math:: x = y\n"
    assert rewrite_math_roles(rewrite_math_blocks(text)).splitlines() == [
        "Rule.", "", "", "    \\[", "    \\begin{gathered}", "    a = b,\\\\", "    c = d", "    \\end{gathered}",
        "    \\]", "", "", "    with \\(a\\).", "", "\\[", "x = y", "\\]"]


def test_the_file_tree_of_the_api_reference_matches_the_files():
    assert file_tree.written_block() == file_tree.block(), (
        "docs/api/index.md's file tree is out of date: python -m docs_build.file_tree --write")


def test_the_readme_is_a_short_front_door():
    length = len(README.read_text(encoding="utf-8"))
    assert length <= README_LIMIT, f"README.md has {length:,} characters; the limit is {README_LIMIT:,}"


def test_every_relative_link_in_the_readme_exists():
    text = README.read_text(encoding="utf-8")
    targets = [target for target in LINK.findall(text)
               if not re.match(r"[a-z][a-z0-9+.-]*:", target) and not target.startswith("#")]
    assert targets, "README.md links to nothing in the repository"
    broken = [target for target in targets if not (ROOT / target.split("#")[0]).exists()]
    assert not broken, f"README.md links to missing files: {broken}"


def check_examples(page: Path, cwd: Path) -> int:
    """Run each Python block of ``page`` in ``cwd``; where a block ends with ``# <output>  <note>``
    lines, its printed lines must be those outputs, in order. Returns the number of blocks."""
    blocks = PYTHON_BLOCK.findall(page.read_text(encoding="utf-8"))
    for index, block in enumerate(blocks):
        script = cwd / f"{page.stem}_example_{index}.py"
        script.write_text(block, encoding="utf-8")
        ran = subprocess.run([sys.executable, str(script)], cwd=cwd, capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert ran.returncode == 0, f"{page.name} example {index} failed:\n{ran.stdout}\n{ran.stderr}"
        said = []
        for line in reversed(block.rstrip().splitlines()):
            if not line.startswith("# "):
                break
            said.insert(0, line[2:])
        printed = ran.stdout.splitlines()
        if said:
            assert len(printed) == len(said), f"{page.name} example {index} printed {printed}, it says {said}"
            for output, comment in zip(printed, said):
                expected = re.split(r"\s{2,}", comment.strip())[0]
                assert output.strip() == expected, f"{page.name} example {index} printed {output!r}, it says {expected!r}"
    return len(blocks)


def test_the_readme_example_runs_and_prints_what_it_says(tmp_path):
    assert check_examples(README, tmp_path) > 0, "README.md has no Python example"


def test_the_getting_started_example_draws_from_a_trained_run(tmp_path, images):
    """The example loads ``runs/train_ali/1`` from where it runs: a short run trained there."""
    run(images, tmp_path / "runs" / "train_ali", steps=2, eval_every=2, checkpoint_every=2)
    assert check_examples(GETTING_STARTED, tmp_path) == 1
    assert (tmp_path / "my_samples.png").stat().st_size > 0


@pytest.mark.parametrize("page", GUIDES_WITH_SELF_CONTAINED_EXAMPLES, ids=lambda page: page.name)
def test_the_guides_examples_run_and_print_what_they_say(page, tmp_path):
    assert check_examples(page, tmp_path) > 0, f"{page.name} has no Python example"


MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|root|tmp|home|Users|mnt|scratch)/")


def test_no_page_or_benchmark_record_names_a_path_of_the_machine_it_was_written_on():
    """Docs and committed benchmark records hold paths a user has too: relative ones, or none."""
    files = [README, ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*"))]
    found = {str(path.relative_to(ROOT)): MACHINE_PATH.findall(path.read_text(encoding="utf-8"))
             for path in files
             if path.is_file() and path.suffix in (".md", ".json", ".csv", ".txt", ".yml")
             and MACHINE_PATH.search(path.read_text(encoding="utf-8"))}
    assert found == {}

"""The documentation: the site builds with ``mkdocs build --strict``, and the README is a short
front door whose relative links resolve and whose Python example runs and prints what it says.

Without MkDocs installed the build test is skipped, unless the ``CI`` variable is set (``.ci/run``
installs the ``docs`` extra), in which case it fails.
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path


from tests.helpers.requirements import require

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


def test_the_site_builds_strictly(tmp_path):
    require(_missing_docs_modules(), "MkDocs", "pip install -e '.[docs]' as .ci/run does")
    site = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert built.returncode == 0, f"mkdocs build --strict failed:\n{built.stdout}\n{built.stderr}"
    assert (site / "index.html").is_file()


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


def test_the_readme_example_runs_and_prints_what_it_says(tmp_path):
    """Each Python block runs; where it ends with ``# <output>  <note>`` lines, its printed
    lines are those outputs, in order."""
    blocks = PYTHON_BLOCK.findall(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no Python example"
    for index, block in enumerate(blocks):
        script = tmp_path / f"readme_example_{index}.py"
        script.write_text(block, encoding="utf-8")
        ran = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert ran.returncode == 0, f"README example {index} failed:\n{ran.stdout}\n{ran.stderr}"
        said = []
        for line in reversed(block.rstrip().splitlines()):
            if not line.startswith("# "):
                break
            said.insert(0, line[2:])
        printed = ran.stdout.splitlines()
        if said:
            assert len(printed) == len(said), f"README example {index} printed {printed}, it says {said}"
            for output, comment in zip(printed, said):
                expected = re.split(r"\s{2,}", comment.strip())[0]
                assert output.strip() == expected, f"README example {index} printed {output!r}, it says {expected!r}"

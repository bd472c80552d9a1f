"""Tooling for the documentation site, run by MkDocs and by hand; no part of the installed package.

- ``api_pages.py``: an MkDocs hook that puts every module of ``ali_opt/`` and ``optimizers/`` on
  exactly one API page;
- ``rest_markup.py``: a griffe extension that renders the docstrings' reST roles and maths as
  Markdown cross-references and MathJax;
- ``file_tree.py``: the file tree in ``docs/api/index.md``, generated from the modules'
  docstrings (``python -m docs_build.file_tree --write``).
"""

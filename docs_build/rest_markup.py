"""Griffe extension: the docstrings' reST markup rendered as Markdown on the API pages.

The docstrings are written in the reST roles Python's tooling reads (``help()``, Sphinx):
``:math:`x```, ``.. math::`` blocks, and the cross-reference roles ``:class:``, ``:func:``,
``:meth:``, ``:attr:``, ``:data:``, ``:mod:``, ``:exc:``. MkDocs renders Markdown, so this
extension rewrites each docstring before it is parsed, leaving the source as it is:

- ``:math:`x``` becomes ``\\(x\\)`` and a ``.. math::`` block becomes a ``\\[ ... \\]`` display
  (in a ``gathered`` environment when it breaks lines with ``\\\\``), which
  ``pymdownx.arithmatex`` hands to MathJax;
- a reST simple table (``====`` borders) becomes a Markdown table;
- a role becomes a Markdown cross-reference ``[`Name`][full.path]`` when its target is an object
  the reference renders (resolved in the docstring's scope; ``~`` shows the last name only, a
  leading ``.`` is relative to the module's package, ``text <target>`` shows ``text``), and
  inline code otherwise (torch, scipy, private names), so no link is ever broken;
- names a package re-exports (``optimizers.GameOptimizer``) are marked non-public, so each
  object is rendered once, at its home; cross-references to them go to that home;
- a public class whose docstring lists no parameters gets a parameter section built from its
  constructor's signature (names, annotations, defaults) and from the options it and its bases
  declare as ``name = Option(default, check, doc)`` (their defaults and meanings).
"""
from __future__ import annotations

import ast
import re
import textwrap

import griffe

DOCUMENTED_PACKAGES = ("ali_opt", "optimizers")
ROLE = re.compile(r":(?:class|func|meth|attr|data|mod|exc|obj):`([^`]+)`")
MATH_ROLE = re.compile(r":math:`([^`]+)`")
MATH_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<inline>.*)$")
SIMPLE_TABLE_BORDER = re.compile(r"^[ \t]*=+(?: +=+)+[ \t]*$")
EXPLICIT_TITLE = re.compile(r"^(?P<title>.+?)\s*<(?P<target>[^<>]+)>$")


def display_math(lines: list[str], indent: str) -> list[str]:
    """A ``.. math::`` block's equation lines as one MathJax display at ``indent``."""
    body = textwrap.dedent("\n".join(lines)).strip("\n")
    if "\\\\" in body and "\\begin" not in body:
        body = "\\begin{gathered}\n" + body + "\n\\end{gathered}"
    return ["", indent + "\\[", *(indent + line for line in body.splitlines()), indent + "\\]", ""]


def rewrite_math_blocks(text: str) -> str:
    """Every ``.. math::`` directive (content on its line, or indented below it) as a display."""
    lines = text.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        match = MATH_DIRECTIVE.match(lines[index])
        if not match:
            out.append(lines[index])
            index += 1
            continue
        indent = match["indent"]
        content = [match["inline"]] if match["inline"].strip() else []
        index += 1
        while index < len(lines) and (not lines[index].strip() and not content
                                      or lines[index].startswith(indent) and len(lines[index]) - len(lines[index].lstrip()) > len(indent)):
            content.append(lines[index])
            index += 1
        out.extend(display_math(content, indent))
    return "\n".join(out)


def _columns(border: str) -> list[tuple[int, int]]:
    return [(match.start(), match.end()) for match in re.finditer(r"=+", border)]


def _cell(text: str) -> str:
    """A table cell's text with its bars kept out of the Markdown table's way: ``\\vert`` in maths,
    ``\\|`` elsewhere."""
    text = MATH_ROLE.sub(lambda match: ":math:`" + match[1].replace("|", "\\vert ") + "`", text.strip())
    return text.replace("|", "\\|")


def _cells(line: str, columns: list[tuple[int, int]]) -> list[str]:
    starts = [start for start, _ in columns] + [None]
    return [_cell(line[start:end] if end else line[start:]) for start, end in zip(starts, starts[1:])]


def rewrite_simple_tables(text: str) -> str:
    """Each reST simple table (rows between ``====  ====`` borders, the header above the second
    border) as a Markdown table."""
    lines = text.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        if not SIMPLE_TABLE_BORDER.match(lines[index]):
            out.append(lines[index])
            index += 1
            continue
        indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
        columns = _columns(lines[index])
        rows, borders = [], 1
        index += 1
        while index < len(lines) and borders < 3:
            if SIMPLE_TABLE_BORDER.match(lines[index]):
                borders += 1
            elif lines[index].strip():
                rows.append(_cells(lines[index], columns))
            index += 1
        header, *body = rows or [[]]
        out.append("")
        out.append(indent + "| " + " | ".join(header) + " |")
        out.append(indent + "|" + "---|" * len(header))
        out.extend(indent + "| " + " | ".join(row) + " |" for row in body)
        out.append("")
    return "\n".join(out)


def rewrite_math_roles(text: str) -> str:
    return MATH_ROLE.sub(lambda match: "\\(" + match[1] + "\\)", text)


def _rendered(obj: griffe.Object | griffe.Alias) -> bool:
    """Whether the API pages render ``obj``: documented packages only, public names, docstrings."""
    if obj.is_alias:
        return False
    if obj.path.split(".")[0] not in DOCUMENTED_PACKAGES:
        return False
    node = obj
    while node is not None and not node.is_module:
        if node.name.startswith("_") and not (node.name.startswith("__") and node.name.endswith("__")):
            return False
        if not node.docstring:
            return False
        node = node.parent
    return True


def _lookup(collection: griffe.ModulesCollection, path: str) -> griffe.Object | None:
    """The object at ``path``, aliases followed to their target; None when absent or foreign."""
    try:
        obj = collection.get_member(path)
    except (KeyError, ValueError, AttributeError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    if obj.is_alias:
        try:
            return obj.final_target
        except (griffe.AliasResolutionError, griffe.CyclicAliasError):
            return None
    return obj


def resolve_target(scope: griffe.Object, target: str) -> str | None:
    """The full path of a role's ``target`` as read in ``scope``, when the reference renders it."""
    module = scope.module
    if target.startswith("."):
        package = module if module.is_package else module.parent
        target = f"{package.path}{target}"
    candidates = [target]
    head, _, rest = target.partition(".")
    try:
        resolved = scope.resolve(head)
        candidates.append(resolved + ("." + rest if rest else ""))
    except griffe.NameResolutionError:
        pass
    candidates.append(f"{module.path}.{target}")
    collection = scope.modules_collection
    for candidate in candidates:
        obj = _lookup(collection, candidate)
        if obj is not None and _rendered(obj):
            return obj.path
    return None


def rewrite_roles(text: str, scope: griffe.Object) -> str:
    def replace(match: re.Match) -> str:
        written = match[1].strip()
        explicit = EXPLICIT_TITLE.match(written)
        if explicit:
            title, target = explicit["title"], explicit["target"]
        else:
            target = written.lstrip("~")
            title = target.rsplit(".", 1)[-1] if written.startswith("~") else target.lstrip(".")
        path = resolve_target(scope, target)
        return f"[`{title}`][{path}]" if path else f"`{title}`"

    return ROLE.sub(replace, text)


def markdown_docstring(text: str, scope: griffe.Object) -> str:
    """A docstring's reST markup as the Markdown the API pages render."""
    return rewrite_roles(rewrite_math_roles(rewrite_simple_tables(rewrite_math_blocks(text))), scope)


def _option_row(name: str, call: ast.Call) -> griffe.DocstringParameter | None:
    """The parameter row of ``name = Option(default, check, doc, ...)``; None for another call."""
    function = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    if function != "Option":
        return None
    arguments = {**dict(zip(("default", "check", "doc"), call.args)),
                 **{keyword.arg: keyword.value for keyword in call.keywords}}
    doc = arguments.get("doc")
    try:
        description = str(ast.literal_eval(doc)) if doc is not None else ""
    except ValueError:
        description = ast.unparse(doc)
    default = arguments.get("default")
    return griffe.DocstringParameter(name, value=ast.unparse(default) if default is not None else None,
                                     description=description)


def _module_option(owner: griffe.Class, name: str) -> ast.Call | None:
    """The ``Option(...)`` call that the module-level name ``name`` (seen from ``owner``) holds."""
    try:
        target = _lookup(owner.modules_collection, owner.resolve(name))
    except griffe.NameResolutionError:
        return None
    if target is None or not target.is_attribute or target.value is None:
        return None
    try:
        value = ast.parse(str(target.value), mode="eval").body
    except SyntaxError:
        return None
    return value if isinstance(value, ast.Call) else None


def declared_options(cls: griffe.Class) -> list[griffe.DocstringParameter]:
    """The options a class and its bases declare in their bodies as ``name = Option(default,
    check, doc)``, or as a name holding one (:mod:`optimizers.options`): the constructor's
    keywords, with their defaults and meanings. Read from the class bodies' source, since an
    instance attribute of the same name hides the class attribute's value from griffe."""
    rows: dict[str, griffe.DocstringParameter] = {}
    for owner in [cls, *cls.mro()]:
        body = ast.parse(textwrap.dedent(owner.source)).body[0].body
        for statement in body:
            if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name)):
                continue
            name = statement.targets[0].id
            value = statement.value
            if isinstance(value, ast.Name):
                value = _module_option(owner, value.id)
            row = _option_row(name, value) if isinstance(value, ast.Call) else None
            if row is not None and name not in rows:
                rows[name] = row
    return list(rows.values())


def constructor_parameters(cls: griffe.Class) -> list[griffe.DocstringParameter]:
    """The named parameters of the class's constructor (its own ``__init__``, else the nearest
    base's), then the options it declares; ``*args`` and ``**kwargs`` are left to the signature."""
    init = next((owner.members["__init__"] for owner in [cls, *cls.mro()]
                 if "__init__" in owner.members and not owner.members["__init__"].is_alias), None)
    rows = []
    if init is not None and init.is_function:
        rows = [griffe.DocstringParameter(parameter.name, annotation=parameter.annotation,
                                          value=parameter.default, description="")
                for parameter in init.parameters
                if parameter.name not in ("self", "cls")
                and parameter.kind not in (griffe.ParameterKind.var_positional, griffe.ParameterKind.var_keyword)]
    return rows + declared_options(cls)


def add_parameter_section(cls: griffe.Class) -> None:
    """Give the class a parameter section built from its constructor, unless its docstring has one."""
    sections = cls.docstring.parse()
    if any(section.kind is griffe.DocstringSectionKind.parameters for section in sections):
        return
    try:
        rows = constructor_parameters(cls)
    except (griffe.AliasResolutionError, griffe.CyclicAliasError, ValueError, SyntaxError, OSError):
        return
    if rows:
        sections.append(griffe.DocstringSectionParameters(rows))
        cls.docstring.__dict__["parsed"] = sections  # Docstring.parsed is a cached property


def _walk(obj: griffe.Object):
    yield obj
    for member in list(obj.members.values()):
        if not member.is_alias:
            yield from _walk(member)


class RestToMarkdown(griffe.Extension):
    """Rewrites the documented packages' docstrings once each package is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        if pkg.name not in DOCUMENTED_PACKAGES:
            return
        objects = list(_walk(pkg))
        for obj in objects:
            for member in obj.members.values():
                if member.is_alias:
                    member.public = False
        for obj in objects:
            if obj.docstring is None:
                continue
            obj.docstring.value = markdown_docstring(obj.docstring.value, obj)
            if obj.is_class and _rendered(obj):
                add_parameter_section(obj)

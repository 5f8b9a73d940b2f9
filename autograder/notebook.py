"""Turns a student notebook into a module of its definitions.

A notebook is graded on what it defines: imports, functions, classes and assignments of
constants. Top-level training runs, plots, magics (``%...``) and shell lines (``!...``)
are not executed; every skipped piece is listed so the feedback can say so.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

_KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class NotebookError(ValueError):
    """The file is not a notebook that can be read."""


@dataclass
class ExtractedModule:
    """The module source built from a notebook and what was left out of it."""

    source: str
    skipped: list[str] = field(default_factory=list)


def _is_constant(node: ast.AST, bound: set[str]) -> bool:
    """A literal, or a dotted name such as ``np.float64`` whose root a kept line binds.

    A name bound only by skipped code (``best = params`` after a skipped training run)
    is not a constant: keeping it would make the import fail.
    """
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and (node.id in bound or hasattr(builtins, node.id))


def _keep(node: ast.stmt, bound: set[str]) -> bool:
    if isinstance(node, _KEPT):
        return True
    if isinstance(node, ast.Assign):
        return (all(isinstance(t, ast.Name) for t in node.targets)
                and _is_constant(node.value, bound))
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and (
            node.value is None or _is_constant(node.value, bound))
    return False


def _bind(node: ast.stmt, bound: set[str]) -> None:
    """Add the names a kept statement defines to ``bound``."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        bound.add(node.name)
    elif isinstance(node, ast.Assign):
        bound.update(target.id for target in node.targets)
    elif isinstance(node, ast.AnnAssign):
        bound.add(node.target.id)


def _segment(text: str, lines: list[str], node: ast.stmt) -> str:
    """Exactly the source of ``node``: never the rest of its line after a ``;``.

    A definition (with its decorators) always starts its own line and takes its whole
    lines; a simple statement takes only its own characters.
    """
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        return "\n".join(lines[start - 1 : node.end_lineno])
    return ast.get_source_segment(text, node) or ""


def _first_line(lines: list[str], node: ast.stmt) -> str:
    text = lines[node.lineno - 1].strip()
    return text if len(text) <= 70 else text[:67] + "..."


def _is_ipython_call(node: ast.stmt) -> bool:
    """A statement IPython wrote for a magic or shell line (``get_ipython().system(...)``)."""
    value = node.value if isinstance(node, ast.Expr | ast.Assign) else None
    return isinstance(value, ast.Call) and ast.unparse(value.func).startswith("get_ipython()")


def _describe_skipped(node: ast.stmt, lines: list[str]) -> str:
    if _is_ipython_call(node):
        return "a magic (%...) or shell command (!...) - not run"
    return f"`{_first_line(lines, node)}` - top-level code, not run when grading"


def _cell_source(number: int, source: str, skipped: list[str], bound: set[str]) -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    if source.lstrip().startswith("%%"):
        skipped.append(f"cell {number}: a cell magic ({source.split()[0]}) - not run")
        return ""
    # IPython's own transformer turns magics and shell lines into get_ipython() calls
    # (line numbers kept), which are then skipped like any other top-level code.
    text = TransformerManager().transform_cell(source)
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        skipped.append(f"cell {number}, line {error.lineno}: syntax error ({error.msg}) - the "
                       "whole cell was left out; fix it so its definitions can be graded")
        return ""
    except (ValueError, MemoryError, RecursionError):
        skipped.append(f"cell {number}: could not be read - the whole cell was left out")
        return ""
    lines = text.splitlines()
    kept = []
    for node in tree.body:
        if _keep(node, bound):
            _bind(node, bound)
            kept.append(_segment(text, lines, node))
        else:
            skipped.append(f"cell {number}, line {node.lineno}: {_describe_skipped(node, lines)}")
    return "\n\n".join(kept)


def extract(raw: bytes) -> ExtractedModule:
    """Read notebook bytes and build the module of its definitions."""
    import nbformat  # imported here: it takes over a second, and most submissions are .py

    try:
        notebook = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nbformat.validate(notebook)
    except UnicodeDecodeError as error:
        raise NotebookError("the notebook is not UTF-8 text; save it again from Jupyter") from error
    except (ValueError, AttributeError, KeyError, TypeError, RecursionError, MemoryError,
            nbformat.ValidationError) as error:
        raise NotebookError(
            "the file is not a valid Jupyter notebook (it may be truncated or edited by hand: "
            f"{str(error).splitlines()[0][:200]}); open it in Jupyter, check it runs, save it "
            "and submit again") from error
    skipped: list[str] = []
    parts = []
    bound: set[str] = set()
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        body = _cell_source(number, cell.source, skipped, bound)
        if body:
            parts.append(f"# --- notebook cell {number} ---\n{body}\n")
    return ExtractedModule("\n\n".join(parts), skipped)

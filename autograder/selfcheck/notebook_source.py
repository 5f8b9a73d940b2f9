"""Turns the code cells of a student notebook into a module of its definitions.

A notebook is checked on what it defines: imports, functions, classes and assignments of
constants. Top-level training runs, plots, magics (``%...``) and shell lines (``!...``)
are not executed, and each one the student added or changed is noted, so that the report
can say what was not run. Cells exactly as the released notebook has them (its
self-checks, its experiment) are skipped without a note: the student did not write them.
A cell is named as Jupyter shows it: ``cell [7]`` after it ran as the 7th execution,
otherwise by its position in the notebook (``cell 15``).

Only the standard library is needed; IPython's own transformer turns magics and shell
lines into code when IPython is installed (where Jupyter runs, it is), and a line-based
rule does it otherwise.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

_KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass
class Cell:
    """One code cell: its source, its position among all cells, its execution count."""

    source: str
    position: int
    execution_count: int | None = None

    @property
    def label(self) -> str:
        """The cell's name as Jupyter shows it."""
        if isinstance(self.execution_count, int) and not isinstance(self.execution_count, bool):
            return f"cell [{self.execution_count}]"
        return f"cell {self.position}"


@dataclass
class ExtractedModule:
    """The module source built from a notebook and what was left out of it."""

    source: str
    skipped: list[str] = field(default_factory=list)


def fingerprint(source: str) -> str:
    """A cell's identity for "unchanged since release": the SHA-256 of its stripped text."""
    return hashlib.sha256(source.strip().encode("utf-8")).hexdigest()


def code_cells(notebook: dict) -> list[Cell]:
    """The code cells of a notebook document (nbformat 4, as parsed JSON)."""
    cells = []
    for position, cell in enumerate(notebook.get("cells", []), start=1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(source)
            cells.append(Cell(str(source), position, cell.get("execution_count")))
    return cells


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
    func = value.func if isinstance(value, ast.Call) else None
    owner = func.value if isinstance(func, ast.Attribute) else None
    return (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name)
            and owner.func.id == "get_ipython")


def _describe_skipped(node: ast.stmt, lines: list[str]) -> str:
    if _is_ipython_call(node):
        return "a magic (%...) or shell command (!...) - not run"
    return f"`{_first_line(lines, node)}` - top-level code, not run when grading"


def _transform(source: str) -> str:
    """Magics and shell lines as ``get_ipython()`` calls, line numbers kept."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return "\n".join(_plain_transform(line) for line in source.split("\n"))
    return TransformerManager().transform_cell(source)


def _plain_transform(line: str) -> str:
    """Without IPython: a line starting with % or ! becomes a ``get_ipython()`` call."""
    stripped = line.lstrip()
    if stripped.startswith(("%", "!")):
        return f"{line[:len(line) - len(stripped)]}get_ipython().run_line_magic('', '')"
    return line


def _cell_source(cell: Cell, skipped: list[str], bound: set[str], noted: bool) -> str:
    notes: list[str] = []
    name = cell.label
    if cell.source.lstrip().startswith("%%"):
        notes.append(f"{name}: a cell magic ({cell.source.split()[0]}) - not run")
        kept_text = ""
    else:
        kept_text = _definitions(cell, name, notes, bound)
    if noted:
        skipped.extend(notes)
    return kept_text


def _definitions(cell: Cell, name: str, notes: list[str], bound: set[str]) -> str:
    try:
        text = _transform(cell.source)  # IPython's tokenizer may raise IndentationError
        tree = ast.parse(text)
    except SyntaxError as error:
        notes.append(f"{name}, line {error.lineno}: syntax error ({error.msg}) - the whole "
                     "cell was left out; fix it so its definitions can be graded")
        return ""
    except (ValueError, MemoryError, RecursionError):
        notes.append(f"{name}: could not be read - the whole cell was left out")
        return ""
    lines = text.splitlines()
    kept = []
    for node in tree.body:
        if _keep(node, bound):
            _bind(node, bound)
            kept.append(_segment(text, lines, node))
        else:
            notes.append(f"{name}, line {node.lineno}: {_describe_skipped(node, lines)}")
    return "\n\n".join(kept)


def definitions(cells: Iterable[Cell], released: frozenset[str] = frozenset()) -> ExtractedModule:
    """The module of the cells' definitions; notes only for cells not in ``released``
    (fingerprints of the released notebook's code cells)."""
    skipped: list[str] = []
    parts = []
    bound: set[str] = set()
    for cell in cells:
        noted = fingerprint(cell.source) not in released
        body = _cell_source(cell, skipped, bound, noted)
        if body:
            parts.append(f"# --- notebook {cell.label} ---\n{body}\n")
    return ExtractedModule("\n\n".join(parts), skipped)

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

The grader reads a notebook in its own process, before any time limit applies, so the
reading is bounded: a notebook's code is read up to :data:`MAX_CODE_CHARS` characters, and
IPython's transformer, which tokenizes a whole cell again for each magic or shell line it
turns into code, may tokenize :data:`MAX_RETOKENIZED_CHARS` more. A cell past either bound,
or on which the transformer fails, is left out with a note, as a syntax error is.
"""

from __future__ import annotations

import ast
import builtins
import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)

# Python numbers lines at these breaks only. ``str.splitlines`` also breaks at form feeds,
# \x0b, \x1c-\x1e, \x85, U+2028 and U+2029, which Python keeps inside a line.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BYTE_LINE_BREAK = re.compile(rb"\r\n|\r|\n")

MAX_CODE_CHARS = 100_000
"""Characters of code read from one notebook: a student's cells hold a few thousand, and
parsing a dense megabyte takes seconds."""

MAX_RETOKENIZED_CHARS = 100_000
"""Characters IPython's transformer may tokenize again in one notebook: it tokenizes a whole
cell again after each magic or shell line it turns into code (quadratic). A cell's first
pass is not counted, so a cell without magics is always read."""


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


@dataclass
class _Budget:
    """What is left of a notebook's reading bounds, in characters; shared by its cells."""

    code: int = MAX_CODE_CHARS
    retokenized: int = MAX_RETOKENIZED_CHARS


class _OverBudget(Exception):
    """The transformer would tokenize more than is left of :data:`MAX_RETOKENIZED_CHARS`."""


class _Text:
    """A cell's code addressed as ``ast`` addresses it: lines counted at ``\\n``, ``\\r\\n``
    and ``\\r`` only, columns in UTF-8 bytes."""

    def __init__(self, text: str) -> None:
        self.lines = _LINE_BREAK.split(text)
        self._data = text.encode("utf-8")
        self._starts = [0, *(match.end() for match in _BYTE_LINE_BREAK.finditer(self._data))]

    def span(self, node: ast.stmt) -> str:
        """Exactly the characters of ``node``, as ``ast.get_source_segment`` gives them but
        without splitting the whole text again for each statement (quadratic in a long cell)."""
        start = self._starts[node.lineno - 1] + node.col_offset
        end = self._starts[node.end_lineno - 1] + node.end_col_offset
        return self._data[start:end].decode("utf-8")


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


def _segment(text: _Text, node: ast.stmt) -> str:
    """Exactly the source of ``node``: never the rest of its line after a ``;``.

    A definition (with its decorators) always starts its own line and takes its whole
    lines; a simple statement takes only its own characters.
    """
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        return "\n".join(text.lines[start - 1 : node.end_lineno])
    return text.span(node)


def _first_line(text: _Text, node: ast.stmt) -> str:
    line = text.lines[node.lineno - 1].strip()
    return line if len(line) <= 70 else line[:67] + "..."


def _is_ipython_call(node: ast.stmt) -> bool:
    """A statement IPython wrote for a magic or shell line (``get_ipython().system(...)``)."""
    value = node.value if isinstance(node, ast.Expr | ast.Assign) else None
    func = value.func if isinstance(value, ast.Call) else None
    owner = func.value if isinstance(func, ast.Attribute) else None
    return (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name)
            and owner.func.id == "get_ipython")


def _describe_skipped(node: ast.stmt, text: _Text) -> str:
    if _is_ipython_call(node):
        return "a magic (%...) or shell command (!...) - not run"
    return f"`{_first_line(text, node)}` - top-level code, not run when grading"


def _transform(source: str, budget: _Budget) -> str:
    """Magics and shell lines as ``get_ipython()`` calls, line numbers kept."""
    manager = _bounded_manager()
    if manager is None:
        return "\n".join(_plain_transform(line) for line in _LINE_BREAK.split(source))
    return manager(budget).transform_cell(source)


@functools.cache
def _bounded_manager() -> type | None:
    """IPython's transformer, charging each pass after a cell's first to the budget; None
    without IPython."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return None

    class BoundedManager(TransformerManager):
        """Stops with :class:`_OverBudget` before a pass that would go past the budget."""

        def __init__(self, budget: _Budget) -> None:
            super().__init__()
            self.budget = budget
            self.passes = 0

        def do_one_token_transform(self, lines: list[str]) -> tuple[bool, list[str]]:
            if self.passes:
                self.budget.retokenized -= sum(map(len, lines))
                if self.budget.retokenized < 0:
                    raise _OverBudget
            self.passes += 1
            return super().do_one_token_transform(lines)

    return BoundedManager


def _plain_transform(line: str) -> str:
    """Without IPython: a line starting with % or ! becomes a ``get_ipython()`` call."""
    stripped = line.lstrip()
    if stripped.startswith(("%", "!")):
        return f"{line[:len(line) - len(stripped)]}get_ipython().run_line_magic('', '')"
    return line


def _cell_source(cell: Cell, skipped: list[str], bound: set[str], noted: bool,
                 budget: _Budget) -> str:
    notes: list[str] = []
    kept_text = _definitions(cell, notes, bound, budget) if _readable(cell, notes, budget) else ""
    if noted:
        skipped.extend(notes)
    return kept_text


def _readable(cell: Cell, notes: list[str], budget: _Budget) -> bool:
    """Whether the cell is Python to read: not a cell magic, and within what is left of the
    notebook's :data:`MAX_CODE_CHARS` (then charged to it)."""
    if cell.source.lstrip().startswith("%%"):
        notes.append(f"{cell.label}: a cell magic ({cell.source.split()[0]}) - not run")
        return False
    if len(cell.source) > budget.code:
        notes.append(f"{cell.label}: too long ({len(cell.source):,} characters; the grader "
                     f"reads {MAX_CODE_CHARS:,} characters of code from a notebook) - the "
                     "whole cell was left out; keep large data out of code cells")
        return False
    budget.code -= len(cell.source)
    return True


def _read(cell: Cell, notes: list[str], budget: _Budget) -> tuple[_Text, ast.Module] | None:
    """The cell as IPython runs it, and its tree; None, with a note, when the whole cell is
    left out."""
    name = cell.label
    try:
        text = _transform(cell.source, budget)  # IPython's tokenizer may raise IndentationError
        tree = ast.parse(text)
        return _Text(text), tree
    except SyntaxError as error:
        notes.append(f"{name}, line {error.lineno}: syntax error ({error.msg}) - the whole "
                     "cell was left out; fix it so its definitions can be graded")
    except _OverBudget:
        notes.append(f"{name}: too many magics (%...) or shell commands (!...) to read - the "
                     "whole cell was left out; move its definitions to a cell without them")
    except (ValueError, MemoryError, RecursionError):
        notes.append(f"{name}: could not be read - the whole cell was left out")
    except Exception as error:  # noqa: BLE001 - IPython's transformer failed: the cell's fault
        notes.append(f"{name}: its magics (%...) or shell commands (!...) could not be read "
                     f"({type(error).__name__}) - the whole cell was left out; move its "
                     "definitions to a cell without them")
    return None


def _definitions(cell: Cell, notes: list[str], bound: set[str], budget: _Budget) -> str:
    read = _read(cell, notes, budget)
    if read is None:
        return ""
    text, tree = read
    kept = []
    for node in tree.body:
        if _keep(node, bound):
            _bind(node, bound)
            kept.append(_segment(text, node))
        else:
            notes.append(f"{cell.label}, line {node.lineno}: {_describe_skipped(node, text)}")
    return "\n\n".join(kept)


def definitions(cells: Iterable[Cell], released: frozenset[str] = frozenset()) -> ExtractedModule:
    """The module of the cells' definitions; notes only for cells not in ``released``
    (fingerprints of the released notebook's code cells)."""
    skipped: list[str] = []
    parts = []
    bound: set[str] = set()
    budget = _Budget()
    for cell in cells:
        noted = fingerprint(cell.source) not in released
        body = _cell_source(cell, skipped, bound, noted, budget)
        if body:
            parts.append(f"# --- notebook {cell.label} ---\n{body}\n")
    return ExtractedModule("\n\n".join(parts), skipped)

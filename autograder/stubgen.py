"""Generate the student stub and notebook from the reference solution and the lesson text.

Each assignment with a ``lesson/`` folder declares them (:mod:`autograder.assignment`;
:meth:`Lesson.of` reads the declaration): its ``REFERENCE`` is the single source of the
code, and the ``lesson/`` folder beside its declaration of the text (the stub's module
docstring, one hint per function, the notebook's cells in order; its README says how to
edit them). This module turns them into what students get:

- ``STUB``: the reference with each region between ``# BEGIN SOLUTION`` and
  ``# END SOLUTION`` replaced by ``raise NotImplementedError`` (with the function's hint as
  its message) and the student-facing module docstring;
- ``NOTEBOOK``: the lesson's cells, with the stub's imports and functions in the cells
  that ask for them.

Both files are committed. ``python -m autograder.stubgen`` rewrites them, for every
assignment of the kit that has a lesson folder (``--config FILE``: for that config's
assignment only); ``python -m autograder.stubgen --check`` rewrites nothing and exits 1,
naming each file and showing a short diff, when a committed file differs from what the
sources generate (the kit's tests run it, so the stubs cannot drift from the reference or
the lesson unnoticed). Output is deterministic: fixed cell ids, no timestamps, no outputs,
so a re-run is byte-identical. :func:`make_nbgrader_source` builds the nbgrader source
notebook (with the solutions, so it is never committed; ``autograder.platforms.nbgrader``
writes it).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import re
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import assignment as assignment_module
from autograder import config as config_module
from autograder.paths import PROJECT_DIR

ROOT = PROJECT_DIR
BEGIN_MARK = "# BEGIN SOLUTION"
END_MARK = "# END SOLUTION"
DIFF_LINES = 40  # lines of diff shown per drifted file

NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


class StubError(Exception):
    """The reference cannot be turned into a stub (unbalanced markers, missing message...)."""


@dataclass(frozen=True)
class Lesson:
    """What one assignment's stub and notebook are made of, and where they are written.

    The assignment's text lives with the assignment, not here: its ``lesson/`` folder holds
    the stub's module docstring (``stub-docstring.txt``), one hint per stubbed function
    (``hints/``) and the notebook's cells (``notebook/``).
    """

    reference: Path
    stub: Path
    notebook: Path
    folder: Path

    @classmethod
    def of(cls, assignment: assignment_module.Assignment) -> Lesson:
        """The lesson of ``assignment``; :class:`StubError` when it declares none."""
        stub, folder = assignment.optional_path("STUB"), assignment.folder / "lesson"
        if stub is None or assignment.notebook is None or not folder.is_dir():
            raise StubError(f"the assignment {assignment.name} has no STUB and NOTEBOOK in "
                            f"{assignment.folder}/assignment.py or no lesson folder {folder}, "
                            "so there is no stub or notebook to generate.")
        return cls(assignment.reference, stub, assignment.notebook, folder)

    @property
    def docstring_file(self) -> Path:
        return self.folder / "stub-docstring.txt"

    @property
    def hints_dir(self) -> Path:
        return self.folder / "hints"

    @property
    def cells_dir(self) -> Path:
        return self.folder / "notebook"

    def hints(self) -> dict[str, tuple[str, ...]]:
        """The hint of each stubbed function (:func:`read_hints`)."""
        return read_hints(self.hints_dir)

    def cells(self) -> list[CellSource]:
        """The notebook's cells (:func:`read_cells`)."""
        return read_cells(self.cells_dir)

    def reference_source(self) -> str:
        return self.reference.read_text(encoding="utf-8")

    def make_stub(self, reference_source: str | None = None) -> Stub:
        """The stub of the reference (or of ``reference_source``) with this lesson's text."""
        source = self.reference_source() if reference_source is None else reference_source
        return make_stub(source, self.hints(), read_docstring(self.docstring_file))


def lessons(config: str | Path | None = None) -> list[Lesson]:
    """The lesson of ``config``'s assignment, or without one of every assignment of the kit
    that has a lesson folder."""
    if config is not None:
        return [Lesson.of(config_module.load(config).assignment)]
    folders = sorted(assignment_module.ASSIGNMENTS_DIR.glob("*/lesson"))
    return [Lesson.of(assignment_module.load(folder.parent.name)) for folder in folders]


@dataclass(frozen=True)
class Stub:
    """The generated stub module and the parts of it that the notebook reuses."""

    source: str
    imports: str  # the module's import lines, without ``from __future__`` ones
    functions: dict[str, str]  # function name -> its source text, in file order


def _solution_regions(lines: list[str]) -> list[tuple[int, int]]:
    """Return (begin, end) 0-based line indices of each solution region, checking balance."""
    regions: list[tuple[int, int]] = []
    begin: int | None = None
    for index, line in enumerate(lines):
        text = line.strip()
        if text == BEGIN_MARK:
            if begin is not None:
                raise StubError(f"line {index + 1}: {BEGIN_MARK} inside another solution region")
            begin = index
        elif text == END_MARK:
            if begin is None:
                raise StubError(f"line {index + 1}: {END_MARK} without {BEGIN_MARK}")
            regions.append((begin, index))
            begin = None
    if begin is not None:
        raise StubError(f"line {begin + 1}: {BEGIN_MARK} is never closed")
    return regions


def _enclosing_function(tree: ast.Module, line_number: int) -> str:
    """Name of the top-level function whose body holds the 1-based ``line_number``."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.lineno <= line_number <= node.end_lineno:
            return node.name
    raise StubError(f"line {line_number}: solution region outside a top-level function")


def _raise_statement(indent: str, message: Sequence[str]) -> list[str]:
    """Source lines of ``raise NotImplementedError(...)`` with one string literal per line."""
    body = [f'{indent}    "{fragment}"' for fragment in message]
    for fragment, line in zip(message, body, strict=True):
        if '"' in fragment or "\\" in fragment or len(line) > 100:
            raise StubError(f"a stub message line has a quote, a backslash or >100 columns: {line}")
    return [f"{indent}raise NotImplementedError(", *body, f"{indent})"]


def _is_import(node: ast.AST) -> bool:
    """True for an import statement other than ``from __future__ import ...``."""
    if isinstance(node, ast.ImportFrom):
        return node.module != "__future__"
    return isinstance(node, ast.Import)


def _names_used(nodes: Sequence[ast.AST]) -> set[str]:
    """Every plain name read anywhere in ``nodes`` (annotations included)."""
    return {
        sub.id for node in nodes for sub in ast.walk(node) if isinstance(sub, ast.Name)
    }


def _mark_solution_only_imports(lines: list[str], reference: ast.Module) -> list[str]:
    """Add ``# noqa: F401`` to imports that only the removed solutions used, saying who uses them.

    Students need those names to write the solutions, so the imports stay; the comment keeps
    linters quiet and tells the student where the names are meant to be used.
    """
    stub_tree = ast.parse("\n".join(lines))
    code = [node for node in stub_tree.body if not isinstance(node, ast.Import | ast.ImportFrom)]
    used = _names_used(code)
    users = {
        node.name: _names_used([node])
        for node in reference.body
        if isinstance(node, ast.FunctionDef)
    }
    result = list(lines)
    for node in stub_tree.body:
        if not _is_import(node):
            continue
        names = [(alias.asname or alias.name).split(".")[0] for alias in node.names]
        if any(name in used for name in names):
            continue
        if node.lineno != node.end_lineno:
            raise StubError(f"line {node.lineno}: unused import spread over several lines")
        who = sorted(fn for fn, fn_names in users.items() if fn_names & set(names))
        result[node.lineno - 1] += f"  # noqa: F401 (used in {', '.join(who)})"
    return result


def read_hints(folder: Path) -> dict[str, tuple[str, ...]]:
    """One hint per stubbed function, from ``<function>.txt`` files in ``folder``.

    A hint is the message of the ``NotImplementedError`` that replaces the solution (and
    the comment above the solution in the nbgrader source). Each line of the file becomes
    one line of the message; lines are joined with a space.
    """
    hints = {}
    for path in sorted(folder.glob("*.txt")):
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        lines = [line for line in lines if line]
        if not lines:
            raise StubError(f"{path}: the hint is empty")
        hints[path.stem] = tuple(f"{line} " for line in lines[:-1]) + (lines[-1],)
    return hints


def read_docstring(path: Path) -> str:
    """The stub's module docstring, quoted, from the text in ``path``."""
    text = path.read_text(encoding="utf-8").rstrip() + "\n"
    if '"""' in text or "\\" in text:
        raise StubError(f"{path}: the docstring may not contain triple quotes or backslashes")
    return f'"""{text}"""'


def make_stub(reference_source: str, hints: dict[str, tuple[str, ...]], docstring: str) -> Stub:
    """Turn the reference module's source into the student stub, with a lesson's ``hints``
    (:func:`read_hints`) and module ``docstring`` (:func:`read_docstring`)."""
    tree = ast.parse(reference_source)
    lines = reference_source.splitlines()
    first = tree.body[0] if tree.body else None
    if not (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        raise StubError("the reference has no module docstring to replace")
    for node in tree.body[1:]:
        if not isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef):
            raise StubError(
                f"line {node.lineno}: only imports and functions are supported at top level"
            )

    regions = _solution_regions(lines)
    stubbed = {_enclosing_function(tree, begin + 1) for begin, _ in regions}
    missing = sorted(stubbed - hints.keys())
    stale = sorted(hints.keys() - stubbed)
    if missing or stale:
        raise StubError(
            f"hints out of date (the lesson's hints folder): no hint for {missing}, "
            f"no solution region in {stale}"
        )

    # Replace from the bottom up so earlier line numbers stay valid.
    for begin, end in reversed(regions):
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        name = _enclosing_function(tree, begin + 1)
        lines[begin : end + 1] = _raise_statement(indent, hints[name])
    lines[first.lineno - 1 : first.end_lineno] = docstring.splitlines()
    lines = _mark_solution_only_imports(lines, tree)
    source = "\n".join(lines) + "\n"

    stub_tree = ast.parse(source)
    stub_lines = source.splitlines()
    import_nodes = [node for node in stub_tree.body if _is_import(node)]
    # The notebook's setup cell keeps the stub's import lines, blank lines between groups
    # included, so that it stays as isort-clean as the stub file.
    import_block = stub_lines[import_nodes[0].lineno - 1 : import_nodes[-1].end_lineno]
    imports = "\n".join(line for line in import_block if not line.startswith("from __future__"))
    functions = {
        node.name: "\n".join(stub_lines[node.lineno - 1 : node.end_lineno])
        for node in stub_tree.body
        if isinstance(node, ast.FunctionDef)
    }
    return Stub(source=source, imports=imports.strip("\n"), functions=functions)


# --- Notebook -------------------------------------------------------------------------

_CELL_FILE = re.compile(r"^(\d{2})-([a-z0-9][a-z0-9-]*)\.(md|py)$")
_IMPORTS = re.compile(r"^# \{\{ stub imports \}\}$")
_FUNCTION = re.compile(r"^# \{\{ stub function (\w+) \}\}$")
LONG_RUNNING = "# long-running"  # first line of a cell that nbgrader must not run
NBGRADER_BEGIN = "### BEGIN SOLUTION"
NBGRADER_END = "### END SOLUTION"


@dataclass(frozen=True)
class CellSource:
    """One cell of the notebook as the lesson folder describes it.

    ``kind`` is ``"markdown"``, ``"code"``, ``"imports"`` (the stub's import lines) or
    ``"function"`` (the stub's function ``function``, a solution cell).
    """

    cell_id: str
    kind: str
    text: str
    function: str = ""


def read_cells(folder: Path) -> list[CellSource]:
    """Read the notebook's cells from ``NN-<cell id>.md`` / ``.py`` files, in NN order.

    A ``.py`` file holding only ``# {{ stub imports }}`` becomes the stub's import lines;
    one holding only ``# {{ stub function NAME }}`` becomes the stub's function ``NAME``.
    Every other file is taken as it is (trailing blank lines dropped). ``README.md``
    describes the folder and is not a cell.
    """
    cells: list[CellSource] = []
    numbers: set[str] = set()
    for path in sorted(folder.iterdir()):
        if path.name == "README.md":
            continue
        match = _CELL_FILE.match(path.name)
        if match is None:
            raise StubError(f"{path}: cell files are named NN-cell-id.md or NN-cell-id.py")
        number, cell_id, suffix = match.groups()
        if number in numbers or any(cell.cell_id == cell_id for cell in cells):
            raise StubError(f"{path}: cell number {number} or id {cell_id!r} is used twice")
        numbers.add(number)
        text = path.read_text(encoding="utf-8").rstrip("\n")
        if suffix == "md":
            cells.append(CellSource(cell_id, "markdown", text))
        elif _IMPORTS.match(text.strip()):
            cells.append(CellSource(cell_id, "imports", ""))
        elif function := _FUNCTION.match(text.strip()):
            cells.append(CellSource(cell_id, "function", "", function.group(1)))
        else:
            cells.append(CellSource(cell_id, "code", text))
    return cells


def _cell_metadata(grade_id: str, solution: bool, points: float | None = None) -> dict:
    """nbgrader metadata: solution cells are editable, every other cell is read-only.

    With ``points``, a solution cell is also graded (nbgrader's "manually graded answer"):
    ``autograder nbgrader-export`` fills in its score.
    """
    meta = {
        "grade": points is not None,
        "grade_id": grade_id,
        "locked": not solution,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _markdown(cell_id: str, text: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text, metadata=_cell_metadata(cell_id, False))
    cell.id = cell_id
    return cell


def _code(cell_id: str, text: str, *, solution: bool = False,
          points: float | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(text, metadata=_cell_metadata(cell_id, solution, points))
    cell.id = cell_id
    return cell


def _guarded(text: str) -> str:
    """A long-running cell that does nothing while nbgrader grades the notebook."""
    return (
        "import os\n\n"
        "if os.environ.get(\"NBGRADER_EXECUTION\"):\n"
        "    print(\"Skipped while nbgrader grades the notebook; run it yourself in Jupyter.\")\n"
        "else:\n" + textwrap.indent(text, "    ")
    )


def make_notebook(
    stub: Stub,
    cells: list[CellSource],
    *,
    solutions: dict[str, str] | None = None,
    points: dict[str, float] | None = None,
) -> nbformat.NotebookNode:
    """Build the notebook from the lesson's cells around the stub's imports and functions.

    Without ``solutions`` this is the student notebook. With them (function name ->
    source holding nbgrader's solution markers) it is the nbgrader source notebook: the
    solution cells hold those sources and are graded with ``points``, and long-running
    cells (first line ``# long-running``) are skipped while nbgrader grades.
    """
    wanted = [cell.function for cell in cells if cell.kind == "function"]
    if sorted(wanted) != sorted(stub.functions) or len(set(wanted)) != len(wanted):
        raise StubError(f"the notebook's cells ask for functions {wanted}; the stub defines "
                        f"{list(stub.functions)} (each must appear exactly once)")
    built = []
    for cell in cells:
        if cell.kind == "markdown":
            built.append(_markdown(cell.cell_id, cell.text))
        elif cell.kind == "imports":
            built.append(_code(cell.cell_id, stub.imports))
        elif cell.kind == "function" and solutions is None:
            built.append(_code(cell.cell_id, stub.functions[cell.function], solution=True))
        elif cell.kind == "function":
            built.append(_code(cell.cell_id, solutions[cell.function], solution=True,
                               points=(points or {}).get(cell.function, 0)))
        elif solutions is not None and cell.text.startswith(LONG_RUNNING):
            built.append(_code(cell.cell_id, _guarded(cell.text)))
        else:
            built.append(_code(cell.cell_id, cell.text))
    notebook = nbformat.v4.new_notebook(cells=built, metadata=NOTEBOOK_METADATA)
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    nbformat.validate(notebook)
    return notebook


def nbgrader_solutions(reference_source: str,
                       hints: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Each stubbed function of the reference with nbgrader's solution markers.

    The region between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` is kept between
    ``### BEGIN SOLUTION`` and ``### END SOLUTION``, under the function's hint as a
    comment, so that ``nbgrader generate_assignment`` keeps the signature, the
    docstring and the hint, and replaces only the solution.
    """
    lines = reference_source.splitlines()
    tree = ast.parse(reference_source)
    regions = _solution_regions(lines)
    for begin, end in reversed(regions):
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        hint = "".join(hints[_enclosing_function(tree, begin + 1)])
        comments = [f"{indent}# {line}" for line in textwrap.wrap(hint, 96 - len(indent))]
        lines[end] = f"{indent}{NBGRADER_END}"
        lines[begin : begin + 1] = [*comments, f"{indent}{NBGRADER_BEGIN}"]
    stubbed = {_enclosing_function(tree, begin + 1) for begin, _ in regions}
    solutions = {}
    for node in ast.parse("\n".join(lines)).body:
        if isinstance(node, ast.FunctionDef) and node.name in stubbed:
            end = node.end_lineno  # the closing marker is a comment after the last statement
            while end < len(lines) and lines[end].strip() == NBGRADER_END:
                end += 1
            solutions[node.name] = "\n".join(lines[node.lineno - 1 : end])
    return solutions


def make_nbgrader_source(lesson: Lesson, points: dict[str, float]) -> nbformat.NotebookNode:
    """The nbgrader source notebook: the student notebook with the reference's solutions
    between nbgrader's markers and each solution cell graded with its function's points."""
    solutions = nbgrader_solutions(lesson.reference_source(), lesson.hints())
    return make_notebook(lesson.make_stub(), lesson.cells(), solutions=solutions, points=points)


def render_notebook(notebook: nbformat.NotebookNode) -> str:
    """Serialise deterministically (sorted keys, fixed indent, trailing newline)."""
    text = nbformat.writes(notebook, version=4)
    return text if text.endswith("\n") else text + "\n"


def generate(lesson: Lesson) -> dict[Path, str]:
    """Return the text of every generated file of ``lesson``, keyed by its path."""
    stub = lesson.make_stub()
    return {lesson.stub: stub.source,
            lesson.notebook: render_notebook(make_notebook(stub, lesson.cells()))}


def drift(files: dict[Path, str]) -> list[str]:
    """Describe each file on disk that differs from its generated text (empty: no drift)."""
    reports = []
    for path, text in files.items():
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        if not path.exists():
            reports.append(f"{shown}: missing")
            continue
        current = path.read_text(encoding="utf-8")
        if current == text:
            continue
        diff = list(
            difflib.unified_diff(
                current.splitlines(),
                text.splitlines(),
                f"{shown} (committed)",
                f"{shown} (generated)",
                lineterm="",
            )
        )
        more = len(diff) - DIFF_LINES
        tail = [f"... {more} more diff lines"] if more > 0 else []
        shown_diff = "\n".join(diff[:DIFF_LINES] + tail)
        reports.append(
            f"{shown}: differs from what the reference and the lesson generate\n{shown_diff}"
        )
    return reports


def main(argv: Sequence[str] | None = None) -> int:
    """Write the generated files, or with ``--check`` report drift and exit 1 if any."""
    parser = argparse.ArgumentParser(
        prog="python -m autograder.stubgen",
        description="Generate the student stub and notebook from the reference and the lesson.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and show a diff if a committed file differs",
    )
    parser.add_argument("--config", default=None,
                        help="generate only for this grader_config.py's assignment (default: "
                             "every assignment of the kit with a lesson folder)")
    args = parser.parse_args(argv)
    files: dict[Path, str] = {}
    try:
        for lesson in lessons(args.config):
            try:
                files.update(generate(lesson))
            except StubError as error:
                raise StubError(f"cannot generate from {lesson.reference}: {error}") from None
    except (StubError, config_module.ConfigError) as error:
        print(f"stubgen: {error}", file=sys.stderr)
        return 2
    if args.check:
        reports = drift(files)
        for report in reports:
            print(report)
        if reports:
            print("Run `python -m autograder.stubgen` to regenerate them.")
            return 1
        print("stubs are up to date with the reference")
        return 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

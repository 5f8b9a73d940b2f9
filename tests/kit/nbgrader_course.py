"""Student notebooks for the notebook and nbgrader tests, filled in as a student would.

A correct copy puts the reference's solution where the notebook has its placeholder; a
faulty one does the same with one deliberate mistake.
"""

from __future__ import annotations

import re

import nbformat

from autograder import stubgen
from autograder.assignment import load

LESSON = stubgen.Lesson.of(load("regularization"))  # the notebook these tests fill in

# A placeholder: the stub's raise with its message, or nbgrader's YOUR CODE HERE stub.
_PLACEHOLDER = re.compile(
    r"^(?P<indent>[ \t]*)(?:# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)"
    r"|raise NotImplementedError\((?:\n[^\n]*)*?\n[ \t]*\))",
    re.MULTILINE,
)


def solution_bodies() -> dict[str, str]:
    """Function name -> the reference's solution lines (indented as in the function)."""
    reference = LESSON.reference.read_text(encoding="utf-8")
    bodies = {}
    for name, source in stubgen.nbgrader_solutions(reference, LESSON.hints()).items():
        lines = source.splitlines()
        begin = next(i for i, line in enumerate(lines) if line.strip() == stubgen.NBGRADER_BEGIN)
        end = next(i for i, line in enumerate(lines) if line.strip() == stubgen.NBGRADER_END)
        bodies[name] = "\n".join(lines[begin + 1 : end])
    return bodies


def fill(notebook: nbformat.NotebookNode, edits: dict[str, tuple[str, str]] | None = None,
         ) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with every solution cell filled in from the reference.

    ``edits`` maps a function name to ``(old, new)``: a mistake put into its solution.
    """
    filled = nbformat.from_dict(notebook)
    bodies = solution_bodies()
    for cell in filled.cells:
        if not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        name = re.search(r"^def (\w+)", cell.source, re.MULTILINE).group(1)
        body = bodies[name]
        if edits and name in edits:
            old, new = edits[name]
            assert body.count(old) == 1, f"{old!r} not in the solution of {name}"
            body = body.replace(old, new)
        cell.source, count = _PLACEHOLDER.subn(lambda _, text=body: text, cell.source, count=1)
        assert count == 1, f"no placeholder in the cell of {name}"
    return filled

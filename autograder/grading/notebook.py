"""Turns a student notebook into a module of its definitions.

A notebook is graded on what it defines: imports, functions, classes and assignments of
constants. Top-level training runs, plots, magics (``%...``) and shell lines (``!...``)
are not executed; each such piece in a cell the student added or changed is listed so
the feedback can say so (cells as the released notebook has them are not: the student
did not write them). The rules live in :mod:`autograder.selfcheck.notebook_source`, which
the student bundle's ``check.py`` uses too; this module reads and validates the file.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from autograder.assignment import Assignment
from autograder.selfcheck.notebook_source import (
    ExtractedModule,
    code_cells,
    definitions,
    fingerprint,
)


class NotebookError(ValueError):
    """The file is not a notebook that can be read."""


@functools.cache
def released_cells(path: Path | None) -> frozenset[str]:
    """Fingerprints of the code cells of the notebook students receive (at ``path``)."""
    if path is None:
        return frozenset()
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return frozenset(fingerprint(cell.source) for cell in code_cells(notebook))


@functools.cache
def nbgrader_cells(assignment: Assignment) -> frozenset[str]:
    """Fingerprints of the code cells of the assignment's nbgrader version
    (:func:`autograder.stubgen.make_nbgrader_source`): students of an nbgrader course
    receive its cells, such as the experiment that does nothing while nbgrader grades, as
    they are, so those are not theirs either. Empty without a lesson to generate it from."""
    from autograder import stubgen  # only for notebooks: it reads the lesson and reference

    try:
        lesson = stubgen.Lesson.of(assignment)
    except stubgen.StubError:  # an assignment without a generated notebook
        return frozenset()
    source = stubgen.make_nbgrader_source(lesson, {name: 1.0 for name in assignment.functions})
    return frozenset(fingerprint(cell.source) for cell in source.cells
                     if cell.cell_type == "code"
                     and not cell.metadata.get("nbgrader", {}).get("solution"))


def extract(raw: bytes, released: frozenset[str]) -> ExtractedModule:
    """Read notebook bytes and build the module of its definitions.

    ``released`` holds the fingerprints of cells that are noted only when changed (the
    released notebook's code cells, :func:`released_cells`).
    """
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
    return definitions(code_cells(notebook), released)

"""``autograder check`` checks what the student means.

With no path it checks ``regularization.py`` or ``.ipynb`` in the current folder, and
when there is neither it says so and what to pass, instead of checking the kit's own
stub. A file that imports its own sibling modules is checked together with them. A
notebook's notes name only cells the student added or changed, as Jupyter numbers them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from assignments.regularization.assignment import NOTEBOOK as NOTEBOOK_FILE
from autograder.assignment import load as load_assignment
from autograder.grading import notebook, target
from autograder.paths import PROJECT_DIR

ASSIGNMENT = load_assignment("regularization")
RELEASED = notebook.released_cells(ASSIGNMENT.notebook)

CORPUS = PROJECT_DIR / "tests" / "kit" / "corpus"
HELPERS = CORPUS / "correct" / "folder_with_helpers"


def _check(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "check", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600, check=False)


def test_no_submission_in_the_folder_says_so_and_what_to_pass(tmp_path: Path) -> None:
    done = _check(tmp_path)
    assert done.returncode == 2
    assert "there is no regularization.py or regularization.ipynb in this folder" in done.stderr
    assert "autograder check path/to/regularization.py" in done.stderr
    assert "Public tests for" not in done.stdout


def test_both_files_in_the_folder_ask_which_one(tmp_path: Path) -> None:
    for name in ASSIGNMENT.submission_names:
        (tmp_path / name).write_text("")
    with pytest.raises(target.NoSubmission, match="say which one"):
        target.resolve(None, tmp_path, ASSIGNMENT)


def test_the_file_in_the_current_folder_is_found(tmp_path: Path) -> None:
    (tmp_path / "regularization.ipynb").write_text("{}")
    assert target.resolve(None, tmp_path, ASSIGNMENT) == tmp_path / "regularization.ipynb"


def test_a_file_is_checked_with_the_sibling_modules_it_imports(tmp_path: Path) -> None:
    work = tmp_path / "my work"
    work.mkdir()
    shutil.copyfile(HELPERS / "regularization.py", work / "homework.py")
    shutil.copyfile(HELPERS / "mlp_steps.py", work / "mlp_steps.py")
    (work / "unrelated.py").write_text("raise SystemExit('not imported, never copied')\n")
    assert target.sibling_modules(work / "homework.py", {"nn_helpers"}) == [work / "mlp_steps.py"]
    done = _check(work, "homework.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All public tests passed." in done.stdout


def test_siblings_are_found_through_other_siblings_and_packages(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("import first\nfrom pkg.sub import x\nimport numpy\n")
    (tmp_path / "first.py").write_text("def f():\n    import second\n")
    (tmp_path / "second.py").write_text("")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "nn_helpers.py").write_text("")
    found = {path.name for path in target.sibling_modules(tmp_path / "main.py", {"nn_helpers"})}
    assert found == {"first.py", "second.py", "pkg"}


def test_the_released_notebook_has_no_notes() -> None:
    extracted = notebook.extract(NOTEBOOK_FILE.read_bytes(), RELEASED)
    assert extracted.skipped == []


def test_added_and_changed_cells_are_noted_as_jupyter_numbers_them() -> None:
    book = nbformat.read(NOTEBOOK_FILE, as_version=4)
    experiment = next(cell for cell in book.cells if cell.get("id") == "experiment")
    experiment.source += "\nprint('my own line')"
    experiment.execution_count = 12
    added = nbformat.v4.new_code_cell("history = train_mlp(params, X, Y)")
    book.cells.append(added)
    extracted = notebook.extract(nbformat.writes(book).encode(), RELEASED)
    position = len(book.cells)
    assert any(note.startswith("cell [12], line") for note in extracted.skipped)
    assert any(note.startswith(f"cell {position}, line 1: `history = train_mlp")
               for note in extracted.skipped), extracted.skipped
    untouched = [c for c in book.cells if c.get("id") in ("check-l2", "check-dropout")]
    assert untouched and all(note.startswith(("cell [12]", f"cell {position}"))
                             for note in extracted.skipped)


def test_notebook_cells_are_read_without_nbformat() -> None:
    cells = notebook.code_cells(json.loads(NOTEBOOK_FILE.read_text()))
    assert {cell.position for cell in cells} and all(c.execution_count is None for c in cells)

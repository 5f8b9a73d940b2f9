"""Notebook extraction, submission discovery and staging, and every unusable submission.

A notebook is graded on its definitions only: these tests check what
:func:`autograder.grading.notebook.extract` keeps and what it skips, and that each skipped piece
is named by cell and line. :func:`autograder.grading.submission.stage` must turn a ``.py`` file,
a notebook or a folder into the worker's staged folder, and must refuse every malformed
submission with an :class:`~autograder.grading.submission.UnusableSubmission` whose message says
what is wrong and how to fix it. No submission code runs in these tests.
"""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

import nbformat
import pytest

from assignments.regularization.assignment import HIDDEN_SUITE, REFERENCE
from autograder.assignment import load as load_assignment
from autograder.grading import notebook, submission
from autograder.grading.submission import UnusableSubmission, discover, stage

ASSIGNMENT = load_assignment("regularization")
RELEASED = notebook.released_cells(ASSIGNMENT.notebook)

REPO = Path(__file__).resolve().parents[2]
MALFORMED = REPO / "tests" / "kit" / "corpus" / "malformed"
SAMPLES = REPO / "samples" / "class"
CORRECT = SAMPLES / "ada_lovelace.py"


def _notebook(*cells: tuple[str, str]) -> bytes:
    """Notebook bytes from (cell_type, source) pairs."""
    book = nbformat.v4.new_notebook()
    makers = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
              "raw": nbformat.v4.new_raw_cell}
    book.cells = [makers[kind](source) for kind, source in cells]
    return nbformat.writes(book).encode()


def _names(source: str) -> set[str]:
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


# --- notebook extraction ---------------------------------------------------------------------

def test_extraction_keeps_definitions_and_skips_top_level_code() -> None:
    raw = _notebook(
        ("markdown", "# Regularization\nSome `code` in prose: train_mlp(params)"),
        ("code", "import numpy as np\nfrom nn_helpers import relu, softmax\nimport os.path"),
        ("code", "LAMBDA = 0.01\nSIZES: tuple = (784, 256, 10)\nDTYPE = np.float64\n"
                 "NAMES = {'a': [1, 2]}\nCOUNT: int"),
        ("code", "@staticmethod\ndef helper(x):\n    return x\n\n"
                 "async def later():\n    return 1\n\n"
                 "class Model:\n    rate = 0.1\n"),
        ("code", "params = init_params([784, 10], np.random.default_rng(0))\n"
                 "train_mlp(params, X, Y)\nprint('training done')\n"
                 "for epoch in range(3):\n    pass\nresult = helper(2)\nx, y = 1, 2\n"
                 "Model.rate = 0.5"),
        ("raw", "train_mlp()"),
    )
    extracted = notebook.extract(raw, RELEASED)
    assert _names(extracted.source) == {
        "np", "relu", "softmax", "os", "LAMBDA", "SIZES", "DTYPE", "NAMES", "COUNT",
        "helper", "later", "Model"}
    assert "@staticmethod" in extracted.source
    compile(extracted.source, "regularization.py", "exec")
    skipped = "\n".join(extracted.skipped)
    for line, text in ((1, "params = init_params"), (2, "train_mlp(params, X, Y)"),
                       (3, "print('training done')"), (4, "for epoch in range(3):"),
                       (6, "result = helper(2)"), (7, "x, y = 1, 2"), (8, "Model.rate = 0.5")):
        assert f"cell 5, line {line}: `{text}" in skipped, skipped
    assert "cell 1" not in skipped and "cell 6" not in skipped, "non-code cells are not notes"
    assert len(extracted.skipped) == 7


def test_magics_and_shell_lines_are_skipped_with_their_line() -> None:
    raw = _notebook(
        ("code", "%matplotlib inline\nimport numpy as np\n!pip install torch\n%load_ext x\n"
                 "TEXT = '''\n%not a magic inside a string\n'''\ndef f():\n    return 1"),
    )
    extracted = notebook.extract(raw, RELEASED)
    assert "matplotlib" not in extracted.source and "pip" not in extracted.source
    assert "def f():" in extracted.source and "import numpy as np" in extracted.source
    assert "%not a magic inside a string" in extracted.source
    assert extracted.skipped == [
        "cell 1, line 1: a magic (%...) or shell command (!...) - not run",
        "cell 1, line 3: a magic (%...) or shell command (!...) - not run",
        "cell 1, line 4: a magic (%...) or shell command (!...) - not run",
    ]


def test_cell_magics_skip_the_whole_cell() -> None:
    raw = _notebook(
        ("code", "import numpy as np"),
        ("code", "%%time\ndef secretly_defined():\n    return 1"),
        ("code", "%%bash\nrm -rf /"),
    )
    extracted = notebook.extract(raw, RELEASED)
    assert "secretly_defined" not in extracted.source and "rm -rf" not in extracted.source
    assert "cell 2: a cell magic (%%time) - not run" in extracted.skipped
    assert "cell 3: a cell magic (%%bash) - not run" in extracted.skipped


def test_syntax_error_cell_is_left_out_and_named() -> None:
    raw = _notebook(
        ("code", "def good():\n    return 1"),
        ("code", "def broken(:\n    return 2\ndef also_lost():\n    return 3"),
        ("code", "def after():\n    return 4"),
    )
    extracted = notebook.extract(raw, RELEASED)
    assert _names(extracted.source) == {"good", "after"}
    [note] = extracted.skipped
    assert note.startswith("cell 2, line 1: syntax error")
    assert "whole cell was left out" in note and "fix it" in note


def test_long_skipped_lines_are_shortened_in_notes() -> None:
    extracted = notebook.extract(_notebook(("code", "print('" + "x" * 300 + "')")), RELEASED)
    [note] = extracted.skipped
    assert len(note) < 200 and "..." in note


def test_assignment_of_a_name_bound_only_by_skipped_code_is_skipped() -> None:
    """``best = params`` where ``params`` comes from a skipped training run must not break
    the import of an otherwise correct notebook."""
    raw = _notebook(
        ("code", "import numpy as np\nRATE = 0.1\nALIAS = np.float64\nSAME = RATE"),
        ("code", "params = np.zeros(3)\nbest = params\nhistory = results.history"),
    )
    extracted = notebook.extract(raw, RELEASED)
    namespace: dict = {}
    exec(compile(extracted.source, "regularization.py", "exec"), namespace)  # noqa: S102
    assert {"RATE", "ALIAS", "SAME"} <= set(namespace)
    skipped = "\n".join(extracted.skipped)
    assert "cell 2, line 2: `best = params`" in skipped
    assert "cell 2, line 3: `history = results.history`" in skipped


@pytest.mark.parametrize("raw", [
    b"{\"cells\": [", b"[]", b"{\"name\": \"x\"}", b"\xff\xfe{}", b"null",
    json.dumps({"cells": "nope", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}).encode(),
], ids=["truncated", "list", "not a notebook", "not utf8", "null", "cells not a list"])
def test_unreadable_notebooks_raise_notebook_error(raw: bytes) -> None:
    with pytest.raises(notebook.NotebookError, match="notebook"):
        notebook.extract(raw, RELEASED)


# --- discovery -------------------------------------------------------------------------------

def test_discover_names_students_by_stem_or_folder(tmp_path: Path) -> None:
    for name in ("bob.py", "carol.ipynb", "dave smith.py", "notes.txt", ".hidden.py",
                 "_private.py"):
        (tmp_path / name).write_text("x = 1\n")
    (tmp_path / "erin").mkdir()
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "link.py").symlink_to(tmp_path / "bob.py")
    found = discover(tmp_path, ASSIGNMENT)
    assert [name for name, _ in found] == ["bob", "carol", "dave_smith", "erin"]
    assert dict(found)["erin"] == tmp_path / "erin"


def test_discover_keeps_same_stem_submissions_apart(tmp_path: Path) -> None:
    for name in ("alice.py", "alice.ipynb", "bob.py", "bob.ipynb", "a b.py", "a_b.py"):
        (tmp_path / name).write_text("x = 1\n")
    (tmp_path / "alice").mkdir()
    (tmp_path / "bob_py").mkdir()
    found = discover(tmp_path, ASSIGNMENT)
    names = [name for name, _ in found]
    assert len(names) == len(set(names)) == 8, names
    assert {"alice_py", "alice_ipynb", "bob_ipynb"} <= set(names)
    assert names == sorted(names)
    assert discover(tmp_path, ASSIGNMENT) == found, "naming must be deterministic"


# --- staging ---------------------------------------------------------------------------------

def _assert_stage_layout(staged: submission.StagedSubmission) -> None:
    folder = staged.stage
    assert (folder.runtime / "worker.py").is_file() and (folder.runtime / "protocol.py").is_file()
    assert (folder.substitute_runtime / "worker.py").is_file()
    assert (folder.substitute_runtime / "substitution.py").is_file()
    assert not (folder.substitute_runtime / "known_good.py").exists()
    assert not (folder.runtime / "substitution.py").exists()
    assert (folder.lib / "nn_helpers.py").is_file()
    assert (folder.submission / "regularization.py").is_file()
    assert folder.scratch.is_dir() and not any(folder.scratch.iterdir())
    staged_files = {p.name for p in folder.runtime.parent.rglob("*")}
    for secret in ("grader_config.py", "test_public.py", "test_hidden_dropout.py",
                   "known_good.py"):
        assert secret not in staged_files


def test_stage_python_file(tmp_path: Path) -> None:
    staged = stage("ada", CORRECT, tmp_path / "work", ASSIGNMENT)
    _assert_stage_layout(staged)
    assert staged.kind == "py" and staged.notes == []
    assert (staged.stage.submission / "regularization.py").read_bytes() == CORRECT.read_bytes()


def test_stage_notebook(tmp_path: Path) -> None:
    source = CORRECT.read_text()
    path = tmp_path / "nb.ipynb"
    path.write_bytes(_notebook(("code", "%matplotlib inline"), ("code", source),
                               ("code", "train_mlp(None, None, None)")))
    staged = stage("nb", path, tmp_path / "work", ASSIGNMENT)
    _assert_stage_layout(staged)
    assert staged.kind == "ipynb"
    staged_source = (staged.stage.submission / "regularization.py").read_text()
    assert {"l2_regularization", "dropout", "train_mlp"} <= _names(staged_source)
    assert "matplotlib" not in staged_source
    assert staged.notes == ["cell 1, line 1: a magic (%...) or shell command (!...) - not run",
                            "cell 3, line 1: `train_mlp(None, None, None)` - top-level code, "
                            "not run when grading"]


def test_cells_of_the_nbgrader_version_are_not_the_students(tmp_path: Path) -> None:
    """An nbgrader course hands out the nbgrader version of the notebook, whose experiment
    cell does nothing while nbgrader grades: as released, it is not the student's code and
    gets no note; the same cell changed does."""
    from autograder import stubgen

    source = stubgen.make_nbgrader_source(stubgen.Lesson.of(ASSIGNMENT),
                                          dict.fromkeys(ASSIGNMENT.functions, 1.0))
    path = tmp_path / "regularization.ipynb"
    path.write_text(stubgen.render_notebook(source), encoding="utf-8")
    staged = stage("nb", path, tmp_path / "work", ASSIGNMENT)
    assert not [note for note in staged.notes if "NBGRADER_EXECUTION" in note], staged.notes
    guarded = next(cell for cell in source.cells if "NBGRADER_EXECUTION" in cell.source)
    guarded.source += "\nprint('changed')"
    path.write_text(stubgen.render_notebook(source), encoding="utf-8")
    staged = stage("nb2", path, tmp_path / "work2", ASSIGNMENT)
    assert [note for note in staged.notes if "NBGRADER_EXECUTION" in note], staged.notes


def test_stage_folder_copies_helpers_and_converts_its_notebook(tmp_path: Path) -> None:
    folder = tmp_path / "frank"
    (folder / "pkg").mkdir(parents=True)
    (folder / "regularization.ipynb").write_bytes(_notebook(("code", CORRECT.read_text())))
    (folder / "layers.py").write_text("def helper():\n    return 1\n")
    (folder / "pkg" / "__init__.py").write_text("")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "x.pyc").write_bytes(b"\0")
    staged = stage("frank", folder, tmp_path / "work", ASSIGNMENT)
    _assert_stage_layout(staged)
    copied = {p.relative_to(staged.stage.submission).as_posix()
              for p in staged.stage.submission.rglob("*") if p.is_file()}
    assert copied == {"regularization.py", "layers.py", "pkg/__init__.py"}
    assert staged.kind == "folder"


def test_symlinks_inside_a_folder_are_not_copied(tmp_path: Path) -> None:
    folder = tmp_path / "mallory"
    folder.mkdir()
    (folder / "regularization.py").write_bytes(CORRECT.read_bytes())
    (folder / "passwd").symlink_to("/etc/passwd")
    (folder / "etc").symlink_to("/etc", target_is_directory=True)
    (folder / "hidden_tests").symlink_to(HIDDEN_SUITE, target_is_directory=True)
    staged = stage("mallory", folder, tmp_path / "work", ASSIGNMENT)
    staged_names = {p.name for p in staged.stage.submission.rglob("*")}
    assert staged_names == {"regularization.py"}
    assert not any(p.is_symlink() for p in staged.stage.submission.rglob("*"))
    assert sorted(staged.notes) == [f"{name}: a symbolic link - not copied"
                                    for name in ("etc", "hidden_tests", "passwd")]


def test_symlinked_module_in_a_folder_is_not_graded(tmp_path: Path) -> None:
    folder = tmp_path / "trudy"
    folder.mkdir()
    (folder / "regularization.py").symlink_to(REFERENCE)
    with pytest.raises(UnusableSubmission, match="trudy has no regularization.py"):
        stage("trudy", folder, tmp_path / "work", ASSIGNMENT)


def test_staged_files_are_readable_by_the_sandbox_uid(tmp_path: Path) -> None:
    staged = stage("ada", CORRECT, tmp_path / "work", ASSIGNMENT)
    for path in staged.stage.runtime.parent.rglob("*"):
        assert path.stat().st_mode & 0o004, f"{path} is not world-readable"
    assert staged.stage.scratch.stat().st_mode & 0o777 == 0o777


# --- unusable submissions --------------------------------------------------------------------

BROKEN_FILES = {
    # name: (bytes, what is wrong, how to fix it)
    "empty.py": (b"", r"is empty", r"Submit your regularization\.py"),
    "blank.py": (b"  \n\n\t\n", r"is empty", r"Submit"),
    "garbage.py": (bytes(range(256)) * 4, r"not a text file|binary", r"Submit the \.py file"),
    "invalid_utf8.py": (b"x = '\xff\xfe\xfa'\n", r"not saved as UTF-8", r"Save with encoding"),
    "latin1.py": ("def f():\n    return 'caf\u00e9'\n".encode("latin-1"),
                  r"not saved as UTF-8", r"UTF-8"),
    "syntax.py": (b"def dropout(A, p\n    return A\n", r"syntax error on line \d",
                  r"Run it once yourself"),
    "bad_indent.py": (b"def f():\nreturn 1\n", r"syntax error on line 2", r"Run it"),
    "empty.ipynb": (b"", r"is empty", r"Save your notebook"),
    "truncated.ipynb": (_notebook(("code", "x = 1"))[:40], r"not a valid Jupyter notebook",
                        r"open it in Jupyter.*save it"),
    "json_not_notebook.ipynb": (b'{"name": "regularization", "files": []}',
                                r"not a valid Jupyter notebook", r"open it in Jupyter"),
    "latin1.ipynb": (_notebook(("code", "x = 'caf\u00e9'")).decode().encode("latin-1"),
                     r"not UTF-8", r"save it again"),
    "notebook_syntax.ipynb": (_notebook(("code", "x = 1")).replace(b'"x = 1"', b'"x ="'),
                              None, None),
}


@pytest.mark.parametrize("name", list(BROKEN_FILES))
def test_broken_files_are_unusable_with_a_helpful_message(name: str, tmp_path: Path) -> None:
    raw, what, how = BROKEN_FILES[name]
    path = tmp_path / name
    path.write_bytes(raw)
    if what is None:  # a notebook cell with a syntax error is skipped, not fatal
        staged = stage("s", path, tmp_path / "work", ASSIGNMENT)
        assert staged.notes and "syntax error" in staged.notes[0]
        return
    with pytest.raises(UnusableSubmission) as error:
        stage("s", path, tmp_path / "work", ASSIGNMENT)
    message = str(error.value)
    assert name in message, f"the message should name the file: {message}"
    assert re.search(what, message), message
    assert re.search(how, message, re.DOTALL), message


def test_oversized_file_is_unusable(tmp_path: Path) -> None:
    path = tmp_path / "big.py"
    path.write_bytes(b"x = 1\n" * (submission.MAX_SOURCE_BYTES // 6 + 10))
    with pytest.raises(UnusableSubmission, match="larger than"):
        stage("big", path, tmp_path / "work", ASSIGNMENT)


def test_oversized_folder_is_unusable(tmp_path: Path) -> None:
    folder = tmp_path / "hoarder"
    folder.mkdir()
    (folder / "regularization.py").write_bytes(CORRECT.read_bytes())
    with open(folder / "data.bin", "wb") as handle:
        handle.truncate(submission.MAX_FOLDER_BYTES + 1)
    with pytest.raises(UnusableSubmission, match="hoarder is larger than"):
        stage("hoarder", folder, tmp_path / "work", ASSIGNMENT)


def test_folder_problems_name_the_student_folder(tmp_path: Path) -> None:
    empty = tmp_path / "grace"
    empty.mkdir()
    (empty / "solution.py").write_bytes(CORRECT.read_bytes())
    with pytest.raises(UnusableSubmission) as error:
        stage("grace", empty, tmp_path / "w1", ASSIGNMENT)
    assert re.search(r"folder grace has no regularization\.py or regularization\.ipynb. Put "
                     r"your solution in a file with that name", str(error.value))
    both = tmp_path / "heidi"
    both.mkdir()
    (both / "regularization.py").write_bytes(CORRECT.read_bytes())
    (both / "regularization.ipynb").write_bytes(_notebook(("code", "x = 1")))
    with pytest.raises(UnusableSubmission) as error:
        stage("heidi", both, tmp_path / "w2", ASSIGNMENT)
    assert re.search(r"folder heidi holds both .*keep only the one", str(error.value))


@pytest.mark.parametrize("name", sorted(p.name for p in MALFORMED.iterdir()))
def test_corpus_malformed_submissions_stage_as_expected(name: str, tmp_path: Path) -> None:
    """The CORPUS's malformed files: unusable ones raise, the others stage cleanly."""
    usable = {"latin1_with_cookie.py", "missing_functions.py", "wrong_signature.py"}
    path = MALFORMED / name
    if name in usable:
        staged = stage(path.stem, path, tmp_path / "work", ASSIGNMENT)
        text = (staged.stage.submission / "regularization.py").read_text(encoding="utf-8")
        compile(text, "regularization.py", "exec")
        return
    with pytest.raises(UnusableSubmission) as error:
        stage(path.stem, path, tmp_path / "work", ASSIGNMENT)
    message = str(error.value)
    assert len(message) > 40 and "\n" not in message.splitlines()[0]
    assert re.search(r"submit|save|keep only|put your|run it", message, re.IGNORECASE), message


def test_latin1_with_coding_cookie_keeps_its_text(tmp_path: Path) -> None:
    path = tmp_path / "cookie.py"
    path.write_bytes("# -*- coding: latin-1 -*-\nWORD = 'caf\u00e9'\n".encode("latin-1"))
    staged = stage("cookie", path, tmp_path / "work", ASSIGNMENT)
    namespace: dict = {}
    staged_file = staged.stage.submission / "regularization.py"
    exec(compile(staged_file.read_bytes(), str(staged_file), "exec"), namespace)  # noqa: S102
    assert namespace["WORD"] == "caf\u00e9"


def test_staging_runs_no_submission_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "sneaky.py"
    path.write_text(f"open({str(marker)!r}, 'w').close()\n")
    nb = tmp_path / "sneaky_nb.ipynb"
    nb.write_bytes(_notebook(("code", f"open({str(marker)!r}, 'w').close()")))
    stage("sneaky", path, tmp_path / "w1", ASSIGNMENT)
    stage("sneaky_nb", nb, tmp_path / "w2", ASSIGNMENT)
    assert not marker.exists()
    assert os.listdir(tmp_path / "w1" / "scratch") == []

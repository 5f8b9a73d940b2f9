"""The benchmark's baseline: the same class graded the way a plain nbgrader course grades it.

The course is the kit's own nbgrader release turned into a classic nbgrader assignment:
each solution cell is an autograded answer, and four autograder test cells assert what the
notebook's own check cells print (the lesson's L2 example, the dropout mask on a
1000 x 200 array, the toy training run) plus one MNIST accuracy check with the lesson's
settings, worth 25, 30, 25 and 20 points. Each student's ``.py`` file becomes their
notebook: every solution cell holds that student's function. ``nbgrader autograde`` then
grades the class, one notebook after another, as nbgrader does.
"""

from __future__ import annotations

import ast
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ASSIGNMENT = "regularization"
BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # alembic

TESTS = {
    "test-l2": (25, """W1 = np.array([[1.0, 2.0], [3.0, 4.0]])
W2 = np.array([[0.5, 1.5], [2.5, 3.5]])
penalty, grads = l2_regularization([W1, W2], 0.01)
assert isinstance(penalty, float)
assert np.isclose(penalty, 0.51)
assert all(np.allclose(g, 0.02 * W) for g, W in zip(grads, [W1, W2]))
assert l2_regularization([], 0.01) == (0.0, [])"""),
    "test-dropout": (30, """A = np.ones((1000, 200))
out, mask = dropout(A, 0.8, training=True, rng=np.random.default_rng(0))
assert abs(np.mean(mask > 0) - 0.8) < 0.01
assert np.allclose(np.unique(mask), [0.0, 1.25])
assert np.allclose(out, A * mask)
assert np.all(A == 1.0)
out_eval, mask_eval = dropout(A, 0.8, training=False)
assert np.array_equal(out_eval, A)
try:
    dropout(A, 1.5)
except ValueError:
    pass
else:
    raise AssertionError("p = 1.5 must raise ValueError")"""),
    "test-train": (25, """from nn_helpers import accuracy, init_params, one_hot

toy_rng = np.random.default_rng(1)
X_toy = toy_rng.standard_normal((256, 20))
Y_toy = one_hot((X_toy[:, 0] + X_toy[:, 1] > 0).astype(int), 2)
toy_params = init_params([20, 32, 16, 2], toy_rng, scale=0.5)
toy_before = {name: value.copy() for name, value in toy_params.items()}
trained, history = train_mlp(toy_params, X_toy, Y_toy, lr=0.1, epochs=15, batch_size=32,
                             lambda_=0.001, keep_prob=0.9, rng=np.random.default_rng(2))
assert len(history["loss"]) == 15
assert history["loss"][-1] < history["loss"][0]
assert accuracy(trained, X_toy, Y_toy) > 0.8
assert all(np.array_equal(toy_params[k], toy_before[k]) for k in toy_params)"""),
    "test-mnist": (20, """from nn_helpers import accuracy, init_params, load_mnist

data = load_mnist("subset", seed=42, test_fraction=0.2)
params = init_params([784, 256, 128, 10], np.random.default_rng(7))
trained, history = train_mlp(params, data.X_train, data.Y_train, lr=0.1, epochs=20,
                             batch_size=64, lambda_=0.01, keep_prob=0.8,
                             rng=np.random.default_rng(11))
assert accuracy(trained, data.X_test, data.y_test) >= 0.89"""),
}


def _run(*command: object, cwd: Path) -> None:
    """Run a command; stop the benchmark with the command's output if it fails."""
    result = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True,
                            text=True, env=ENV)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed:\n{result.stdout}\n"
                         f"{result.stderr}")


def _classic_source(source: Path) -> None:
    """Turn the kit's nbgrader source into a classic one: answers, then test cells."""
    notebook = nbformat.read(source, 4)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            meta["grade"] = False
            meta.pop("points", None)
    at = next(i for i, c in enumerate(notebook.cells)
              if c.metadata.get("nbgrader", {}).get("grade_id") == "experiment-text")
    for offset, (grade_id, (points, code)) in enumerate(TESTS.items()):
        cell = nbformat.v4.new_code_cell(code)
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "locked": True,
                                     "points": points, "schema_version": 3,
                                     "solution": False, "task": False}
        notebook.cells.insert(at + offset, cell)
    nbformat.write(notebook, source)


def _functions(path: Path) -> dict[str, str]:
    """The top-level functions of a student's file, by name, as written."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    return {node.name: ast.get_source_segment(text, node, padded=True)
            for node in tree.body if isinstance(node, ast.FunctionDef)}


def _student_notebook(released: nbformat.NotebookNode, path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.from_dict(released)
    functions = _functions(path)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            name = ast.parse(cell.source).body[0].name
            cell.source = functions.get(name, cell.source)
    return notebook


def build_course(root: Path, students: list[Path]) -> Path:
    """An nbgrader course in ``root`` with ``students``' files submitted; return it."""
    _run(sys.executable, "-m", "autograder", "release", root / "release", cwd=root.parent)
    course = root / "release" / "nbgrader"
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'benchmark'\n"
        "c.ExecutePreprocessor.timeout = 600\n")  # nbgrader's 30 s cuts the MNIST check
    _classic_source(course / "source" / ASSIGNMENT / "regularization.ipynb")
    _run(BIN / "nbgrader", "generate_assignment", ASSIGNMENT, cwd=course)
    released = nbformat.read(course / "release" / ASSIGNMENT / "regularization.ipynb", 4)
    for path in students:
        folder = course / "submitted" / path.stem / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(_student_notebook(released, path), folder / "regularization.ipynb")
        (folder / "timestamp.txt").write_text("2026-11-26 10:00:00.000000 UTC")
        (folder / "submission_secret.txt").write_text(secrets.token_hex(64))
    return course


def autograde(course: Path) -> float:
    """Grade the course's whole class with ``nbgrader autograde``; return the seconds."""
    started = time.perf_counter()
    _run(BIN / "nbgrader", "autograde", ASSIGNMENT, "--force", cwd=course)
    return time.perf_counter() - started


def scores(course: Path) -> dict[str, float]:
    """Each student's total score in the course's gradebook after ``autograde``."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "benchmark") as gradebook:
        submissions = gradebook.assignment_submissions(ASSIGNMENT)
        return {s.student.id: float(s.score) for s in submissions}

"""The student stub and notebook stay in step with the sources they are generated from.

``autograder.stubgen`` derives ``assignments/regularization/regularization.py`` and
``regularization.ipynb`` from ``assignments/regularization/grader/reference.py`` and the
lesson text in ``assignments/regularization/lesson/``. These tests fail when a committed file drifts
from that output, when the stub's functions stop matching the reference's signatures,
or when the notebook loses its nbgrader metadata.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # plain `pytest` does not put the repository root on the path
    sys.path.insert(0, str(ROOT))

from autograder import stubgen  # noqa: E402
from autograder.assignment import load as load_assignment  # noqa: E402

LESSON = stubgen.Lesson.of(load_assignment("regularization"))

ASSIGNMENT = ROOT / "assignments" / "regularization"
CONTRACT_FUNCTIONS = ["l2_regularization", "dropout", "train_mlp"]
SOLUTION_CELLS = {"l2-regularization", "dropout", "train-mlp"}


def _load(path: Path, name: str) -> ModuleType:
    """Import the module at ``path`` under ``name``; its ``nn_helpers`` is the shipped one."""
    if str(ASSIGNMENT) not in sys.path:
        sys.path.insert(0, str(ASSIGNMENT))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference() -> ModuleType:
    return _load(LESSON.reference, "regularization_reference_for_stub_tests")


@pytest.fixture(scope="module")
def stub() -> ModuleType:
    return _load(LESSON.stub, "regularization_stub_for_stub_tests")


@pytest.fixture(scope="module")
def notebook() -> nbformat.NotebookNode:
    return nbformat.read(LESSON.notebook, as_version=4)


def _code_cells(notebook: nbformat.NotebookNode) -> dict[str, str]:
    return {cell.id: cell.source for cell in notebook.cells if cell.cell_type == "code"}


# --- (a) drift guard ---------------------------------------------------------------


@pytest.mark.parametrize("lesson", stubgen.lessons(), ids=lambda lesson: lesson.folder.parent.name)
def test_committed_files_match_generated_output(lesson: stubgen.Lesson) -> None:
    """Every assignment with a lesson folder: its committed stub and notebook."""
    reports = stubgen.drift(stubgen.generate(lesson))
    if reports:
        pytest.fail(
            f"generated files drifted from {lesson.reference.name}; run "
            "`python -m autograder.stubgen` and commit the result:\n" + "\n".join(reports)
        )


def test_every_assignment_with_a_lesson_is_generated() -> None:
    names = {lesson.folder.parent.name for lesson in stubgen.lessons()}
    assert {"regularization", "softmax"} <= names, names


def test_check_command_exits_zero_on_committed_files() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "autograder.stubgen", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        pytest.fail(f"--check exited {result.returncode}:\n{result.stdout}{result.stderr}")


def test_check_reports_a_drifted_file(tmp_path: Path) -> None:
    files = stubgen.generate(LESSON)
    edited = tmp_path / "regularization.py"
    edited.write_text(files[LESSON.stub].replace("raise NotImplementedError", "return None"))
    reports = stubgen.drift({edited: files[LESSON.stub]})
    if len(reports) != 1 or "-    return None" not in reports[0]:
        pytest.fail(f"expected one report with a diff, got {reports!r}")


def test_generation_is_deterministic() -> None:
    if stubgen.generate(LESSON) != stubgen.generate(LESSON):
        pytest.fail("two runs of the generator gave different files")


@pytest.mark.parametrize(
    ("source", "complaint"),
    [
        ('"""Doc."""\n\ndef f():\n    # BEGIN SOLUTION\n    return 1\n', "never closed"),
        ('"""Doc."""\n\ndef f():\n    # END SOLUTION\n    return 1\n', "without"),
        ('"""Doc."""\n\ndef f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n',
         "hints out of date"),
        ("def f():\n    return 1\n", "no module docstring"),
    ],
)
def test_malformed_reference_is_rejected(source: str, complaint: str) -> None:
    with pytest.raises(stubgen.StubError, match=complaint):
        LESSON.make_stub(source)


# --- (b), (c) the stub module ----------------------------------------------------------


def test_stub_defines_exactly_the_contract_functions() -> None:
    tree = ast.parse(LESSON.stub.read_text(encoding="utf-8"))
    defined = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    if defined != CONTRACT_FUNCTIONS:
        pytest.fail(f"stub defines {defined}, expected {CONTRACT_FUNCTIONS}")


@pytest.mark.parametrize("name", CONTRACT_FUNCTIONS)
def test_stub_signature_matches_reference(
    name: str, reference: ModuleType, stub: ModuleType
) -> None:
    expected = inspect.signature(getattr(reference, name))
    actual = inspect.signature(getattr(stub, name))
    if actual != expected:
        pytest.fail(f"{name}: stub signature {actual} differs from reference {expected}")
    if inspect.getdoc(getattr(stub, name)) != inspect.getdoc(getattr(reference, name)):
        pytest.fail(f"{name}: the stub's docstring differs from the reference's")


CALLS = {
    "l2_regularization": lambda f: f([np.ones((2, 2))], 0.1),
    "dropout": lambda f: f(np.ones((2, 3)), 0.5, True, np.random.default_rng(0)),
    "train_mlp": lambda f: f({}, np.ones((2, 2)), np.eye(2)),
}


@pytest.mark.parametrize("name", CONTRACT_FUNCTIONS)
def test_stub_function_raises_not_implemented(name: str, stub: ModuleType) -> None:
    with pytest.raises(NotImplementedError, match=name):
        CALLS[name](getattr(stub, name))


def test_stub_has_student_docstring_and_no_solution_markers() -> None:
    text = LESSON.stub.read_text(encoding="utf-8")
    for leftover in (stubgen.BEGIN_MARK, stubgen.END_MARK, "Reference solution"):
        if leftover in text:
            pytest.fail(f"the stub still contains {leftover!r}")
    docstring = ast.get_docstring(ast.parse(text))
    for command in ("python check.py regularization.py", "autograder check regularization.py"):
        if command not in docstring:
            pytest.fail(f"the stub's docstring does not say how to run the public tests "
                        f"({command})")


# --- (d), (e) the notebook -----------------------------------------------------------


def test_notebook_function_cells_equal_stub_functions(notebook: nbformat.NotebookNode) -> None:
    text = LESSON.stub.read_text(encoding="utf-8")
    committed = {
        node.name: ast.get_source_segment(text, node)
        for node in ast.parse(text).body
        if isinstance(node, ast.FunctionDef)
    }
    cells = _code_cells(notebook)
    cell_for = {"l2_regularization": "l2-regularization", "dropout": "dropout",
                "train_mlp": "train-mlp"}
    for name, cell_id in cell_for.items():
        if cells.get(cell_id) != committed[name]:
            pytest.fail(f"notebook cell {cell_id!r} differs from {name} in the stub file")


def test_notebook_functions_with_reference_bodies_behave_like_reference(
    notebook: nbformat.NotebookNode, reference: ModuleType
) -> None:
    """Swap each stub body back for the reference's solution and compare results."""
    reference_source = LESSON.reference.read_text(encoding="utf-8")
    bodies = {
        node.name: node.body
        for node in ast.parse(reference_source).body
        if isinstance(node, ast.FunctionDef)
    }
    cells = _code_cells(notebook)
    namespace: dict = {}
    exec(compile(cells["setup"], "setup", "exec"), namespace)
    for cell_id in ("l2-regularization", "dropout", "train-mlp"):
        tree = ast.parse(cells[cell_id])
        function = tree.body[0]
        function.body = bodies[function.name]
        exec(compile(tree, cell_id, "exec"), namespace)

    weights = [np.arange(6.0).reshape(2, 3), np.full((3, 1), 0.5)]
    penalty, grads = namespace["l2_regularization"](weights, 0.01)
    ref_penalty, ref_grads = reference.l2_regularization(weights, 0.01)
    A = np.linspace(-1, 1, 12).reshape(3, 4)
    out, mask = namespace["dropout"](A, 0.7, True, np.random.default_rng(3))
    ref_out, ref_mask = reference.dropout(A, 0.7, True, np.random.default_rng(3))
    rng = np.random.default_rng(5)
    params = {"W1": rng.standard_normal((4, 5)), "b1": np.zeros((1, 5)),
              "W2": rng.standard_normal((5, 3)), "b2": np.zeros((1, 3)),
              "W3": rng.standard_normal((3, 2)), "b3": np.zeros((1, 2))}
    X, Y = rng.standard_normal((10, 4)), np.eye(2)[rng.integers(0, 2, 10)]
    settings = {"epochs": 2, "batch_size": 4, "lambda_": 0.01, "keep_prob": 0.8}
    trained, history = namespace["train_mlp"](params, X, Y, rng=np.random.default_rng(9),
                                              **settings)
    ref_trained, ref_history = reference.train_mlp(params, X, Y, rng=np.random.default_rng(9),
                                                   **settings)
    same = (
        penalty == ref_penalty
        and all(np.array_equal(g, r) for g, r in zip(grads, ref_grads, strict=True))
        and np.array_equal(out, ref_out)
        and np.array_equal(mask, ref_mask)
        and history == ref_history
        and all(np.array_equal(trained[k], ref_trained[k]) for k in ref_trained)
    )
    if not same:
        pytest.fail("the notebook's functions with the reference's bodies behave differently")


def test_notebook_validates_and_has_no_outputs(notebook: nbformat.NotebookNode) -> None:
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
            pytest.fail(f"cell {cell.id!r} carries outputs or an execution count")


def test_notebook_nbgrader_metadata(notebook: nbformat.NotebookNode) -> None:
    seen = set()
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            pytest.fail(f"cell {cell.id!r} has no nbgrader metadata")
        solution = cell.id in SOLUTION_CELLS
        expected = {
            "grade": False,
            "grade_id": cell.id,
            "locked": not solution,
            "schema_version": 3,
            "solution": solution,
            "task": False,
        }
        if dict(meta) != expected:
            pytest.fail(f"cell {cell.id!r}: nbgrader metadata {dict(meta)}, expected {expected}")
        seen.add(cell.id)
    if not seen >= SOLUTION_CELLS:
        pytest.fail(f"solution cells missing: {sorted(SOLUTION_CELLS - seen)}")


def test_notebook_passes_nbgraders_own_validator(notebook: nbformat.NotebookNode) -> None:
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3  # a dev dependency: no skip

    MetadataValidatorV3().validate_nb(notebook)


def test_notebook_code_cells_are_definitions_or_top_level_code(
    notebook: nbformat.NotebookNode,
) -> None:
    """Solution cells hold only imports and functions; no other cell defines anything.

    The grader keeps only imports and definitions from a notebook, so a function defined
    in a self-check or experiment cell would silently become part of a submission.
    """
    for cell_id, source in _code_cells(notebook).items():
        kinds = {type(node) for node in ast.parse(source).body}
        definitions = {ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef}
        if cell_id in SOLUTION_CELLS | {"setup"}:
            if not kinds <= definitions | {ast.Import, ast.ImportFrom}:
                pytest.fail(f"cell {cell_id!r} holds more than imports and definitions")
        elif kinds & definitions:
            pytest.fail(f"cell {cell_id!r} defines a function or class")


# --- the lesson text lives in the assignment folder ---------------------------------


def _copy_lesson(tmp_path: Path) -> Path:
    import shutil

    folder = tmp_path / "notebook"
    shutil.copytree(LESSON.cells_dir, folder)
    return folder


def test_notebook_cells_come_from_the_lesson_folder(notebook: nbformat.NotebookNode) -> None:
    cells = LESSON.cells()
    if [cell.id for cell in notebook.cells] != [cell.cell_id for cell in cells]:
        pytest.fail("the notebook's cells are not the lesson folder's, in order")
    for built, source in zip(notebook.cells, cells, strict=True):
        if source.kind in ("markdown", "code") and built.source != source.text:
            pytest.fail(f"cell {source.cell_id!r} differs from its file in the lesson folder")


def test_editing_a_lesson_file_is_drift(tmp_path: Path) -> None:
    folder = _copy_lesson(tmp_path)
    intro = next(folder.glob("*-intro.md"))
    intro.write_text(intro.read_text(encoding="utf-8") + "\nOne more sentence.\n")
    stub_ = LESSON.make_stub()
    edited = stubgen.render_notebook(stubgen.make_notebook(stub_, stubgen.read_cells(folder)))
    reports = stubgen.drift({LESSON.notebook: edited})
    if len(reports) != 1 or '+    "One more sentence."' not in reports[0]:
        pytest.fail(f"an edited lesson cell was not reported as drift: {reports!r}")


def test_editing_a_hint_changes_the_stub(tmp_path: Path) -> None:
    import shutil

    hints = tmp_path / "hints"
    shutil.copytree(LESSON.hints_dir, hints)
    (hints / "dropout.txt").write_text("dropout: return (out, mask) as the docstring says.\n")
    source = stubgen.make_stub(LESSON.reference_source(), stubgen.read_hints(hints),
                               stubgen.read_docstring(LESSON.docstring_file)).source
    if '"dropout: return (out, mask) as the docstring says."' not in source:
        pytest.fail("the stub does not carry the edited hint")


@pytest.mark.parametrize(
    ("name", "text", "complaint"),
    [
        ("intro.md", "text", "named NN-cell-id"),
        ("99-intro.md", "again", "used twice"),
        ("98-extra.py", "# {{ stub function dropout }}", "exactly once"),
    ],
)
def test_malformed_lesson_folder_is_rejected(
    tmp_path: Path, name: str, text: str, complaint: str
) -> None:
    folder = _copy_lesson(tmp_path)
    (folder / name).write_text(text)
    stub_ = LESSON.make_stub()
    with pytest.raises(stubgen.StubError, match=complaint):
        stubgen.make_notebook(stub_, stubgen.read_cells(folder))


# --- the nbgrader source notebook ----------------------------------------------------------


def test_nbgrader_source_marks_solutions_and_grades_solution_cells(
    notebook: nbformat.NotebookNode,
) -> None:
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

    points = {"l2_regularization": 25, "dropout": 30, "train_mlp": 45}
    source = stubgen.make_nbgrader_source(LESSON, points)
    MetadataValidatorV3().validate_nb(source)
    student = {cell.id: cell for cell in notebook.cells}
    functions = {"l2-regularization": "l2_regularization", "dropout": "dropout",
                 "train-mlp": "train_mlp"}
    for cell in source.cells:
        meta = cell.metadata["nbgrader"]
        if cell.id in functions:
            header = student[cell.id].source.split("raise NotImplementedError(")[0].rstrip()
            lines = [line.strip() for line in cell.source.splitlines()]
            if not cell.source.startswith(header) or lines[-1] != stubgen.NBGRADER_END \
                    or lines.count(stubgen.NBGRADER_BEGIN) != 1:
                pytest.fail(f"{cell.id}: not the stub's header with one marked solution")
            if not (meta["grade"] and meta["solution"] and
                    meta["points"] == points[functions[cell.id]]):
                pytest.fail(f"{cell.id}: not a graded solution cell worth its points: {meta}")
        elif cell.source.startswith("import os\n\nif os.environ.get(\"NBGRADER_EXECUTION\")"):
            if not student[cell.id].source.startswith(stubgen.LONG_RUNNING):
                pytest.fail(f"{cell.id}: guarded but not marked long-running")
        elif cell.source != student[cell.id].source or meta["grade"]:
            pytest.fail(f"{cell.id}: differs from the student notebook's cell")

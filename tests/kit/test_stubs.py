"""The student stub and notebook stay in step with the reference they are generated from.

``autograder.stubgen`` derives ``assignments/regularization/regularization.py`` and
``regularization.ipynb`` from ``reference/regularization.py``. These tests fail when a
committed file drifts from that output, when the stub's functions stop matching the
reference's signatures, or when the notebook loses its nbgrader metadata.
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
    return _load(stubgen.REFERENCE, "regularization_reference_for_stub_tests")


@pytest.fixture(scope="module")
def stub() -> ModuleType:
    return _load(stubgen.STUB, "regularization_stub_for_stub_tests")


@pytest.fixture(scope="module")
def notebook() -> nbformat.NotebookNode:
    return nbformat.read(stubgen.NOTEBOOK, as_version=4)


def _code_cells(notebook: nbformat.NotebookNode) -> dict[str, str]:
    return {cell.id: cell.source for cell in notebook.cells if cell.cell_type == "code"}


# --- (a) drift guard ---------------------------------------------------------------


def test_committed_files_match_generated_output() -> None:
    reports = stubgen.drift(stubgen.generate())
    if reports:
        pytest.fail(
            "generated files drifted from reference/regularization.py; run "
            "`python -m autograder.stubgen` and commit the result:\n" + "\n".join(reports)
        )


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
    files = stubgen.generate()
    edited = tmp_path / "regularization.py"
    edited.write_text(files[stubgen.STUB].replace("raise NotImplementedError", "return None"))
    reports = stubgen.drift({edited: files[stubgen.STUB]})
    if len(reports) != 1 or "-    return None" not in reports[0]:
        pytest.fail(f"expected one report with a diff, got {reports!r}")


def test_generation_is_deterministic() -> None:
    if stubgen.generate() != stubgen.generate():
        pytest.fail("two runs of the generator gave different files")


@pytest.mark.parametrize(
    ("source", "complaint"),
    [
        ('"""Doc."""\n\ndef f():\n    # BEGIN SOLUTION\n    return 1\n', "never closed"),
        ('"""Doc."""\n\ndef f():\n    # END SOLUTION\n    return 1\n', "without"),
        ('"""Doc."""\n\ndef f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n',
         "STUB_MESSAGES out of date"),
        ("def f():\n    return 1\n", "no module docstring"),
    ],
)
def test_malformed_reference_is_rejected(source: str, complaint: str) -> None:
    with pytest.raises(stubgen.StubError, match=complaint):
        stubgen.make_stub(source)


# --- (b), (c) the stub module ----------------------------------------------------------


def test_stub_defines_exactly_the_contract_functions() -> None:
    tree = ast.parse(stubgen.STUB.read_text(encoding="utf-8"))
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
    text = stubgen.STUB.read_text(encoding="utf-8")
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
    text = stubgen.STUB.read_text(encoding="utf-8")
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
    reference_source = stubgen.REFERENCE.read_text(encoding="utf-8")
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
    validator = pytest.importorskip("nbgrader.nbgraderformat.v3")
    validator.MetadataValidatorV3().validate_nb(notebook)


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

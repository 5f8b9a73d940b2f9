"""A second assignment, graded by the same engine and the same commands: ``softmax``.

``assignments/softmax/`` declares softmax, cross-entropy and a softmax classifier trained
on scikit-learn's bundled digits; ``assignments/softmax/grader_config.py`` names it. Its
small corpus (``tests/kit/corpus/softmax``: two correct submissions and three faulty
ones, each wrong in one function) is graded with ``autograder --config ... grade`` in the
sandbox, and one file is checked with ``autograder --config ... check``. Its student
bundle is written with ``autograder --config ... release`` and its ``check.py`` run as a
student runs it, in the unzipped folder. Nothing of it touches MNIST; the whole module
takes a few seconds per submission.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder import config as config_module
from autograder.assignment import load as load_assignment
from autograder.grading import nbgrader_layout
from autograder.paths import PROJECT_DIR
from autograder.platforms import gradescope, nbgrader
from autograder.release import bundle, leakcheck

CONFIG = PROJECT_DIR / "assignments" / "softmax" / "grader_config.py"
CORPUS = PROJECT_DIR / "tests" / "kit" / "corpus" / "softmax"
POINTS = {"softmax": 30.0, "cross_entropy": 30.0, "train_softmax": 40.0}
FAULTY = {  # student: (the function that loses points, what the feedback names)
    "softmax_over_columns": ("softmax", r"taken over axis 0"),
    "cross_entropy_sum": ("cross_entropy", r"summed over the rows"),
    "train_gradient_not_averaged": ("train_softmax", r"not divided by the number of rows"),
}


def _autograder(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "--config", str(CONFIG), *args],
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600,
                          check=False)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("softmax")
    done = _autograder("grade", str(CORPUS), "--out", str(out), "--jobs", "2",
                       "--require-sandbox")
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "gradebook.csv").open(newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def test_the_gradebook_has_the_assignments_own_columns(graded: Path) -> None:
    header = (graded / "gradebook.csv").read_text().splitlines()[0]
    assert header == ("student,score,max_score,softmax,cross_entropy,train_softmax,"
                      "isolation,kind,error")
    assert set(_rows(graded)) == {"correct_loops", "correct_vectorised", *FAULTY}


@pytest.mark.parametrize("student", ["correct_loops", "correct_vectorised"])
def test_correct_submissions_get_full_marks(graded: Path, student: str) -> None:
    row = _rows(graded)[student]
    assert float(row["score"]) == pytest.approx(100.0), row
    assert row["error"] == "" and row["isolation"].startswith("bubblewrap"), row


@pytest.mark.parametrize("student", sorted(FAULTY))
def test_a_mistake_costs_points_in_its_own_function_only(graded: Path, student: str) -> None:
    wrong, cause = FAULTY[student]
    row = _rows(graded)[student]
    for function, points in POINTS.items():
        if function == wrong:
            assert float(row[function]) < points - 1e-6, row
        else:  # the known-good softmax and cross_entropy stand in while the loop is graded
            assert float(row[function]) == pytest.approx(points), row
    feedback = (graded / student / "feedback.md").read_text()
    assert re.search("Likely cause: .*" + cause, feedback), feedback


def test_check_runs_the_assignments_public_tests(tmp_path: Path) -> None:
    good = _autograder("check", str(CORPUS / "correct_vectorised.py"))
    assert good.returncode == 0, good.stdout + good.stderr
    assert "softmax" in good.stdout and "All public tests passed." in good.stdout
    assert "l2_regularization" not in good.stdout


def test_a_config_naming_an_unknown_assignment_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "grader_config.py"
    config.write_text(CONFIG.read_text().replace('ASSIGNMENT = "softmax"', 'ASSIGNMENT = "nope"'))
    done = subprocess.run([sys.executable, "-m", "autograder", "--config", str(config), "check",
                           str(CORPUS / "correct_loops.py")], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "setting ASSIGNMENT" in done.stderr and "there is no assignment 'nope'" in done.stderr
    assert "softmax" in done.stderr and "regularization" in done.stderr  # what the kit has


# --- the student release ---------------------------------------------------------------

BUNDLE_FILES = {"softmax.py", "softmax.ipynb", "SPEC.md", "README.md", "check.py",
                "expectations.npz", "selfcheck/__init__.py", "selfcheck/public_checks.py"}


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("softmax-release")
    done = _autograder("release", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture()
def unzipped(released: Path, tmp_path: Path) -> Path:
    with zipfile.ZipFile(released / bundle.ZIP_FILE) as archive:
        archive.extractall(tmp_path)
    return tmp_path / "softmax"  # the zip unzips to the assignment's module name


def _check_py(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """``python check.py ARGS`` in ``folder``, where importing the kit fails: the bundle
    stands alone (numpy and the standard library)."""
    blocker = folder.parent / "no-kit"
    for package in ("autograder", "assignments"):
        (blocker / package).mkdir(parents=True, exist_ok=True)
        (blocker / package / "__init__.py").write_text(
            "raise ImportError('the student bundle imported the grading kit')\n")
    environment = {**os.environ, "PYTHONPATH": str(blocker)}
    return subprocess.run([sys.executable, "check.py", *args], cwd=folder, env=environment,
                          capture_output=True, text=True, timeout=300, check=False)


def test_release_writes_the_softmax_bundle_without_its_solution(released: Path) -> None:
    config = config_module.load(CONFIG)
    files = bundle.read_bundle(released / bundle.ZIP_FILE, config)
    assert files == bundle.read_bundle(released / bundle.STUDENT_DIR, config)
    assert set(files) >= BUNDLE_FILES, sorted(files)
    assert not any(re.search(r"regulari|nn_helpers|reference|known_good|mistakes|hidden|test_",
                             name) for name in files), sorted(files)
    assert bundle.check_for_leaks(files, config) == []
    text = "\n".join(leakcheck.normalize(line) for name, raw in files.items()
                     for line in leakcheck.file_text(name, raw).splitlines())
    solution = [leakcheck.normalize(line) for line
                in leakcheck.solution_lines(config.assignment.reference.read_text())]
    spec = leakcheck.normalize(files["SPEC.md"].decode())  # the contract states its formula
    assert len(solution) > 8
    assert not [line for line in solution if len(line) > 12 and line in text
                and line not in spec]
    source = released / "nbgrader" / "source" / "softmax" / "softmax.ipynb"
    assert source.read_text().count("### BEGIN SOLUTION") == 3  # the instructors' copy


def test_check_py_on_the_untouched_stub_says_not_implemented(unzipped: Path) -> None:
    done = _check_py(unzipped)
    assert done.returncode == 1, done.stdout + done.stderr
    for function in POINTS:
        assert re.search(rf"^{function} +0 / \d+", done.stdout, re.MULTILINE), done.stdout
        assert f"`{function}` is not implemented yet" in done.stdout
    assert "passed" in done.stdout and "Traceback" not in done.stdout + done.stderr


def test_check_py_passes_the_reference(unzipped: Path) -> None:
    shutil.copyfile(config_module.load(CONFIG).assignment.reference, unzipped / "softmax.py")
    done = _check_py(unzipped)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All public tests passed." in done.stdout


def test_check_py_and_autograder_check_name_the_one_faulty_function(unzipped: Path) -> None:
    faulty = CORPUS / "train_gradient_not_averaged.py"
    standalone = _check_py(unzipped, str(faulty))
    assert standalone.returncode == 1, standalone.stdout + standalone.stderr
    assert re.search(r"^softmax +(\d+) / \1 ", standalone.stdout, re.MULTILINE)
    assert re.search(r"^cross_entropy +(\d+) / \1 ", standalone.stdout, re.MULTILINE)
    passed, total = re.search(r"^train_softmax +(\d+) / (\d+)", standalone.stdout,
                              re.MULTILINE).groups()
    assert int(passed) < int(total)
    assert "FAILED train_softmax" in standalone.stdout
    assert "FAILED softmax" not in standalone.stdout
    assert "FAILED cross_entropy" not in standalone.stdout
    assert "not divided by the number of rows" in standalone.stdout
    kit = _autograder("check", str(faulty))
    assert kit.returncode == standalone.returncode
    assert kit.stdout == standalone.stdout


def test_the_released_notebook_runs_and_learns_the_digits(released: Path, tmp_path: Path) -> None:
    """The nbgrader source (the student notebook with the solutions in place), executed as
    Jupyter runs it: every cell runs, the checks print what they promise, and the digits
    experiment reaches the accuracy the notebook and SPEC.md state."""
    notebook = nbformat.read(released / "nbgrader" / "source" / "softmax" / "softmax.ipynb",
                             as_version=4)
    environment = {key: value for key, value in os.environ.items()
                   if key != "NBGRADER_EXECUTION"}
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute(env=environment)
    outputs = [output for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    text = "".join(output.get("text", "") for output in outputs)
    assert "loss of softmax(Z): 0.7531 (expected 0.7531)" in text, text
    assert "the loss goes down: True" in text and "a Python float: True" in text, text
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", text).group(1))
    assert accuracy >= config_module.load(CONFIG).DIGITS_MIN_ACCURACY, text


def test_an_assignment_without_a_student_release_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An assignment that declares no notebook (or stub, or release files) has no bundle:
    the release says so and writes nothing, instead of a bundle of another assignment."""
    config = config_module.load(CONFIG)
    lacking = dataclasses.replace(config.assignment, notebook=None)
    monkeypatch.setattr(config_module.Config, "assignment", property(lambda self: lacking))
    with pytest.raises(bundle.NoRelease, match="no STUB, NOTEBOOK or RELEASE_FILES"):
        bundle.build_release(tmp_path / "out", config)
    assert not (tmp_path / "out").exists()


def test_nbgrader_submissions_and_export_follow_the_assignment(
        released: Path, tmp_path: Path) -> None:
    """nbgrader's ``<student>/<assignment>/`` layout is found for the assignment in use, and
    the export targets the graded cells of the source notebook the release wrote for it."""
    softmax, regularization = load_assignment("softmax"), load_assignment("regularization")
    folder = tmp_path / "submitted" / "jdoe@uni.edu" / "softmax"
    folder.mkdir(parents=True)
    shutil.copyfile(softmax.notebook, folder / "softmax.ipynb")
    submitted = tmp_path / "submitted"
    assert nbgrader_layout.discover(submitted, softmax) == [("jdoe@uni.edu", folder)]
    assert nbgrader_layout.discover(submitted, regularization) is None

    target = nbgrader._target(softmax, None)
    source = nbformat.read(released / "nbgrader" / "source" / "softmax" / "softmax.ipynb", 4)
    graded = {cell.metadata["nbgrader"]["grade_id"] for cell in source.cells
              if cell.metadata.get("nbgrader", {}).get("grade")}
    assert (target.assignment, target.notebook) == ("softmax", "softmax")
    assert set(target.cells) == set(POINTS) and set(target.cells.values()) <= graded


def test_the_gradescope_zip_carries_the_assignments_config(tmp_path: Path) -> None:
    """``gradescope build`` with the softmax config ships it as the kit's config, so the
    zip grades softmax and asks students for its file."""
    zipped = tmp_path / "autograder.zip"
    done = _autograder("gradescope", "build", str(zipped))
    assert done.returncode == 0, done.stderr[-3000:]
    with zipfile.ZipFile(zipped) as archive:
        assert archive.read("kit/grader_config.py") == CONFIG.read_bytes()
        assert "softmax.py" in archive.read("run_autograder").decode()
        names = set(archive.namelist())
    assert {"kit/assignments/softmax/grader/reference.py",
            "kit/assignments/softmax/tests/hidden/test_hidden_softmax.py"} <= names
    assert gradescope.settings(config_module.load(CONFIG)).time_limit_s > 0

"""``autograder release`` as a student receives it: the bundle alone, in a fresh virtual
environment that holds only numpy, matplotlib and mlxtend (no pytest, no kit).

The release is written with the real command line and unzipped; ``check.py`` then runs
on the untouched stub, a correct file, faulty ones, a notebook and a submission that
kills its own process. Its report must match ``autograder check``'s word for word.
Creating the environment installs packages with pip (from PyPI, or a local mirror when
the machine has one), so this module takes a minute or two.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder.release import bundle

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "kit" / "corpus"
STUDENT_PACKAGES = ("numpy", "matplotlib", "mlxtend")
RUN_TIMEOUT_S = 600


def _run(command: list, cwd: Path, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(part) for part in command], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("release")
    done = _run([sys.executable, "-m", "autograder", "release", out], cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="module")
def student_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with only the packages the notebook needs."""
    venv = tmp_path_factory.mktemp("student-venv")
    made = _run([sys.executable, "-m", "venv", "--clear", venv], cwd=venv)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    pip = _run([python, "-m", "pip", "install", "--quiet", *STUDENT_PACKAGES], cwd=venv,
               timeout=1800)
    assert pip.returncode == 0, f"pip could not install {STUDENT_PACKAGES}:\n{pip.stderr[-3000:]}"
    for absent in ("pytest", "autograder", "nbformat"):
        probe = _run([python, "-c", f"import {absent}"], cwd=venv)
        assert probe.returncode != 0, f"{absent} should not be in the student's environment"
    return python


@pytest.fixture()
def unzipped(release: Path, tmp_path: Path) -> Path:
    with zipfile.ZipFile(release / bundle.ZIP_FILE) as archive:
        archive.extractall(tmp_path)
    return tmp_path / bundle.zip_root()


def test_release_writes_the_nbgrader_source_outside_the_bundle(release: Path) -> None:
    source = release / "nbgrader" / "source" / "regularization"
    notebook = (source / "regularization.ipynb").read_text(encoding="utf-8")
    assert notebook.count("### BEGIN SOLUTION") == 3
    assert (source / "nn_helpers.py").is_file()
    assert not any("nbgrader" in name for name in bundle.read_bundle(release / bundle.ZIP_FILE))


def test_zip_and_folder_hold_the_same_files(release: Path) -> None:
    in_zip = bundle.read_bundle(release / bundle.ZIP_FILE)
    in_folder = bundle.read_bundle(release / bundle.STUDENT_DIR)
    assert in_zip == in_folder
    assert in_zip == bundle.student_files()


def test_the_untouched_stub_fails_with_not_implemented(student_python: Path,
                                                       unzipped: Path) -> None:
    done = _run([student_python, "check.py"], cwd=unzipped)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "is not implemented yet" in done.stdout
    assert "l2_regularization      0 / " in done.stdout


def test_a_correct_file_passes(student_python: Path, unzipped: Path) -> None:
    shutil.copyfile(CORPUS / "correct" / "float32_preserving.py",
                    unzipped / "regularization.py")
    started = time.monotonic()
    done = _run([student_python, "check.py"], cwd=unzipped)
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All public tests passed." in done.stdout
    print(f"check.py on a correct file: {seconds:.2f} s")


def test_a_correct_notebook_folder_passes(student_python: Path, unzipped: Path) -> None:
    done = _run([student_python, "check.py", CORPUS / "correct" / "notebook_folder"],
                cwd=unzipped)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("faulty", "cause"), [
    ("dropout_keep_drop_swapped", "keeps a unit where the random number is at least p"),
    ("l2_missing_factor_2", "the gradient is missing the factor 2"),
    ("train_fresh_mask_in_backward", "the backward pass draws new dropout masks"),
    ("l2_penalty_array_shape_1", "should be a Python float"),
])
def test_a_faulty_file_fails_with_its_cause(student_python: Path, unzipped: Path,
                                            faulty: str, cause: str) -> None:
    done = _run([student_python, "check.py", CORPUS / "faulty" / f"{faulty}.py"],
                cwd=unzipped)
    assert done.returncode == 1, done.stdout + done.stderr
    assert cause in done.stdout, done.stdout


def test_a_process_killing_submission_still_gets_its_table(student_python: Path,
                                                           unzipped: Path) -> None:
    done = _run([student_python, "check.py", CORPUS / "hostile" / "os_exit_in_function.py"],
                cwd=unzipped)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "your code stopped the grading process" in done.stdout
    for function in ("l2_regularization", "dropout", "train_mlp"):
        assert function in done.stdout


@pytest.mark.parametrize("submission", [
    CORPUS / "faulty" / "dropout_no_inverse_scaling.py",
    CORPUS / "faulty" / "train_no_l2_grads.py",
    CORPUS / "correct" / "einsum_everywhere.py",
])
def test_check_py_says_what_autograder_check_says(student_python: Path, unzipped: Path,
                                                  submission: Path) -> None:
    standalone = _run([student_python, "check.py", submission], cwd=unzipped)
    kit = _run([sys.executable, "-m", "autograder", "check", submission], cwd=REPO)
    assert standalone.returncode == kit.returncode
    assert standalone.stdout == kit.stdout


def test_a_file_that_is_not_code_is_named_as_such(student_python: Path, unzipped: Path) -> None:
    (unzipped / "notes.txt").write_text("my notes\n")
    done = _run([student_python, "check.py", "notes.txt"], cwd=unzipped)
    assert done.returncode != 0
    assert "notes.txt is not Python code (a .py file) or a notebook" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_a_syntax_error_names_the_file_that_has_it(student_python: Path, unzipped: Path) -> None:
    (unzipped / "attempt2.py").write_text("def l2_regularization(weights, lambda_)\n    pass\n")
    done = _run([student_python, "check.py", "attempt2.py"], cwd=unzipped)
    assert done.returncode != 0
    assert "attempt2.py has a syntax error on line 1" in done.stdout + done.stderr
    assert "(python attempt2.py)" in done.stdout + done.stderr

"""A second assignment, graded by the same engine and the same commands: ``softmax``.

``assignments/softmax/`` declares softmax, cross-entropy and a softmax classifier trained
on scikit-learn's bundled digits; ``assignments/softmax/grader_config.py`` names it. Its
small corpus (``tests/kit/corpus/softmax``: two correct submissions and three faulty
ones, each wrong in one function) is graded with ``autograder --config ... grade`` in the
sandbox, and one file is checked with ``autograder --config ... check``. Nothing of it
touches MNIST; the whole module takes a few seconds per submission.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.paths import PROJECT_DIR

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
    bad = _autograder("check", str(CORPUS / "softmax_over_columns.py"))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "FAILED softmax" in bad.stdout


def test_a_config_naming_an_unknown_assignment_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "grader_config.py"
    config.write_text(CONFIG.read_text().replace('ASSIGNMENT = "softmax"', 'ASSIGNMENT = "nope"'))
    done = subprocess.run([sys.executable, "-m", "autograder", "--config", str(config), "check",
                           str(CORPUS / "correct_loops.py")], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "setting ASSIGNMENT" in done.stderr and "there is no assignment 'nope'" in done.stderr
    assert "softmax" in done.stderr and "regularization" in done.stderr  # what the kit has


def test_release_of_an_assignment_without_a_student_release_is_refused(tmp_path: Path) -> None:
    """Writing the kit's own bundle for another --config would hand out the wrong one."""
    done = _autograder("release", str(tmp_path / "release"))
    assert done.returncode == 2, done.stderr
    assert "softmax (from --config) has no student release" in done.stderr
    assert not (tmp_path / "release").exists()

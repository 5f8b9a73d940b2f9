"""``autograder grade`` reads the folder an instructor gives it, or says why it cannot.

nbgrader's ``<student>/<assignment>/<notebook>`` layout is recognised and its student ids
are kept exactly; the kit's own layout (one file or folder per student) is not mistaken
for it. When no submission is found, or not one could be graded, ``grade`` explains and
exits non-zero, so that nobody publishes a gradebook of zeros by mistake.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assignments.regularization.assignment import REFERENCE as REFERENCE_FILE
from assignments.regularization.assignment import SAMPLES as SAMPLE_CLASS
from assignments.regularization.assignment import STUB as STUB_FILE
from autograder.assignment import load as load_assignment
from autograder.grading import nbgrader_layout, submission
from autograder.paths import PROJECT_DIR

TIMEOUT_S = 600
ASSIGNMENT = load_assignment("regularization")


def _grade(folder: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(folder), "--out", str(out),
         "--suite", "public"],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def _nbgrader_student(root: Path, student: str, files: dict[str, str]) -> Path:
    folder = root / student / "regularization"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# --- layout detection ----------------------------------------------------------------------


def test_nbgrader_layout_keeps_ids_and_points_at_the_assignment_folder(tmp_path: Path) -> None:
    correct = REFERENCE_FILE.read_text(encoding="utf-8")
    a = _nbgrader_student(tmp_path, "jdoe@uni.edu", {"regularization.py": correct,
                                                     "timestamp.txt": "2026-11-26 10:00"})
    b = _nbgrader_student(tmp_path, "o'brien+2", {"timestamp.txt": "2026-11-26 10:00"})
    (tmp_path / "no_assignment_folder").mkdir()
    (tmp_path / ".ipynb_checkpoints").mkdir()
    found = submission.discover(tmp_path, ASSIGNMENT)
    expected = [("jdoe@uni.edu", a), ("no_assignment_folder", tmp_path / "no_assignment_folder"),
                ("o'brien+2", b)]
    if found != expected:
        pytest.fail(f"discover gave {found}, expected {expected}")


def test_assignment_folder_found_by_nbgrader_timestamp_under_another_name(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "s1" / "hw4"
    folder.mkdir(parents=True)
    (folder / "timestamp.txt").write_text("2026-11-26 10:00")
    if submission.discover(tmp_path, ASSIGNMENT) != [("s1", folder)]:
        pytest.fail(f"an assignment folder with nbgrader's timestamp was not used: "
                    f"{submission.discover(tmp_path, ASSIGNMENT)}")


def test_symbolic_links_in_nbgrader_layout_are_not_followed(tmp_path: Path) -> None:
    ann = _nbgrader_student(tmp_path, "ann", {"timestamp.txt": "2026-11-26 10:00"})
    (tmp_path / "mallory").symlink_to(tmp_path / "ann")  # another student's work
    (tmp_path / "eve").mkdir()
    (tmp_path / "eve" / "regularization").symlink_to("/etc")  # files outside the class
    found = submission.discover(tmp_path, ASSIGNMENT)
    if found != [("ann", ann), ("eve", tmp_path / "eve")]:
        pytest.fail(f"symbolic links were followed: {found}")


@pytest.mark.parametrize("layout", ["sample class", "student folder with a nested folder"])
def test_kit_layout_is_not_taken_for_nbgrader(tmp_path: Path, layout: str) -> None:
    if layout == "sample class":
        folder = SAMPLE_CLASS
    else:
        folder = tmp_path
        shutil.copyfile(STUB_FILE, tmp_path / "alice.py")
        (tmp_path / "bob" / "regularization").mkdir(parents=True)
        (tmp_path / "bob" / "regularization" / "regularization.py").write_text("x = 1\n")
    if nbgrader_layout.discover(folder, ASSIGNMENT) is not None:
        pytest.fail(f"{layout}: the kit's layout was taken for nbgrader's")


# --- failing loudly -------------------------------------------------------------------------


def test_empty_folder_is_refused_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "notes.txt").write_text("nothing to grade")
    done = _grade(tmp_path / "class", tmp_path / "out")
    if done.returncode == 0 or "no submission found" not in done.stderr:
        pytest.fail(f"exit {done.returncode}: {done.stderr}")


def test_nbgrader_course_root_is_refused_with_a_pointer_to_submitted(tmp_path: Path) -> None:
    course = tmp_path / "course"
    for name in ("source", "release", "submitted"):
        (course / name / "regularization").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    (course / "gradebook.db").write_bytes(b"")
    done = _grade(course, tmp_path / "out")
    expected = f"autograder grade {course / 'submitted'}"
    if done.returncode == 0 or expected not in done.stderr:
        pytest.fail(f"exit {done.returncode}: {done.stderr}")


def test_batch_where_no_submission_is_usable_exits_non_zero(tmp_path: Path) -> None:
    for student in ("ann", "ben"):
        _nbgrader_student(tmp_path / "submitted", student, {"timestamp.txt": "2026-11-26"})
    out = tmp_path / "out"
    done = _grade(tmp_path / "submitted", out)
    if done.returncode != 1 or "none of the 2 submission(s)" not in done.stderr \
            or "regularization.py or regularization.ipynb" not in done.stderr:
        pytest.fail(f"exit {done.returncode}: {done.stderr}")
    with open(out / "gradebook.csv", newline="") as stream:
        if len(list(csv.DictReader(stream))) != 2:
            pytest.fail("the gradebook of the failed batch is still written, for inspection")


def test_one_usable_submission_is_enough_to_succeed(tmp_path: Path) -> None:
    _nbgrader_student(tmp_path / "class", "ann", {"regularization.py": STUB_FILE.read_text()})
    _nbgrader_student(tmp_path / "class", "ben", {"timestamp.txt": "2026-11-26"})
    done = _grade(tmp_path / "class", tmp_path / "out")
    if done.returncode != 0:
        pytest.fail(f"a batch with one gradable (if failing) submission exited "
                    f"{done.returncode}: {done.stderr}")

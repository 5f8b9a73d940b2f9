"""An nbgrader course grades with the kit from end to end, with nbgrader's own commands.

The course is built in a temporary folder from the kit's source notebook
(written by ``autograder release``) and released with
``nbgrader generate_assignment``. One student goes through nbgrader's exchange as a real
student would (``release_assignment``, ``fetch_assignment``, ``submit``, ``collect``: the
exchange names a student by the account running it, so only the account running the tests
can do this); the others are placed in nbgrader's layout as ``collect`` leaves them, with
ids nbgrader allows but a careless tool rewrites. Then ``nbgrader autograde``,
``autograder grade COURSE/submitted``, ``autograder nbgrader-export``, ``nbgrader export``
and ``release_feedback`` / ``fetch_feedback`` run, and what each leaves is checked.

nbgrader is a development dependency of the kit: without it these tests fail.
"""

from __future__ import annotations

import csv
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import get_username, notebook_hash
from nbgrader_course import LESSON, fill

from autograder import stubgen
from autograder.assignment import load as load_assignment
from autograder.grading import nbgrader_layout
from autograder.platforms import nbgrader as adapter
from grader_config import POINTS

BIN = Path(sys.executable).parent
COURSE_ID = "regkit"
ASSIGNMENT = "regularization"
REGULARIZATION = load_assignment(ASSIGNMENT)
FAULTY_ID = "jdoe@uni.edu"
UNTOUCHED_ID = "o'brien+2"
L2_MISTAKE = ("grads.append((2 * lambda_ * W)", "grads.append((lambda_ * W)")
SOLUTION_CELLS = {"l2_regularization": "l2-regularization", "dropout": "dropout",
                  "train_mlp": "train-mlp"}


def _run(command: list, cwd: Path, timeout: float = 900, check: bool = True,
         env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    environment["PATH"] = f"{BIN}{os.pathsep}{environment.get('PATH', '')}"
    started = time.monotonic()
    result = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout, env=environment)
    print(f"{time.monotonic() - started:6.1f} s  {' '.join(map(str, command[:3]))}")
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, command))} exited {result.returncode}:\n"
                    f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def _nbgrader(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    return _run([BIN / "nbgrader", *args], cwd=cwd, **kwargs)


def _place_submission(course: Path, student: str, notebook: nbformat.NotebookNode) -> None:
    """What ``nbgrader collect`` leaves for a student: notebook, timestamp and secret."""
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / "regularization.ipynb")
    (folder / "timestamp.txt").write_text("2026-11-26 10:00:00.000000 UTC")
    (folder / "submission_secret.txt").write_text(secrets.token_hex(64))


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("nbgrader")
    release = root / "release"
    _run([sys.executable, "-m", "autograder", "release", release], cwd=root)
    course = release / "nbgrader"
    source = course / "source" / ASSIGNMENT / "regularization.ipynb"
    exchange, cache = root / "exchange", root / "cache"
    exchange.mkdir()
    exchange.chmod(0o777)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        f"c.Exchange.cache = {str(cache)!r}\n")
    exchange_flags = [f"--course={COURSE_ID}", f"--Exchange.root={exchange}",
                      f"--Exchange.cache={cache}"]
    _nbgrader("generate_assignment", ASSIGNMENT, cwd=course)
    released = nbformat.read(course / "release" / ASSIGNMENT / "regularization.ipynb", 4)

    # A real student, through nbgrader's exchange.
    own_id = get_username()
    _nbgrader("release_assignment", ASSIGNMENT, cwd=course)
    home = root / "student"
    home.mkdir()
    _nbgrader("fetch_assignment", ASSIGNMENT, *exchange_flags, cwd=home)
    fetched = home / ASSIGNMENT / "regularization.ipynb"
    nbformat.write(fill(nbformat.read(fetched, 4)), fetched)
    _nbgrader("submit", ASSIGNMENT, *exchange_flags, cwd=home)
    _nbgrader("collect", ASSIGNMENT, cwd=course)

    # Students as nbgrader's layout holds them after collect.
    _place_submission(course, FAULTY_ID, fill(released, {"l2_regularization": L2_MISTAKE}))
    _place_submission(course, UNTOUCHED_ID, released)

    autograde = _nbgrader("autograde", ASSIGNMENT, cwd=course)
    out = root / "grading-output"
    grade = _run([BIN / "autograder", "grade", course / "submitted", "--out", out,
                  "--jobs", "2"], cwd=root)
    export = _run([BIN / "autograder", "nbgrader-export", out, "--course", course], cwd=root)
    _nbgrader("export", cwd=course)
    _nbgrader("release_feedback", ASSIGNMENT, cwd=course)
    _nbgrader("fetch_feedback", ASSIGNMENT, *exchange_flags, cwd=home)
    return {"root": root, "course": course, "source": source, "released": released,
            "out": out, "own_id": own_id, "home": home, "exchange": exchange,
            "autograde": autograde, "grade": grade, "export": export}


def _gradebook_csv(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as stream:
        return {row["student"]: row for row in csv.DictReader(stream)}


# --- the source and released notebooks --------------------------------------------------


def test_released_notebook_keeps_signatures_docstrings_and_hints(course: dict) -> None:
    cells = {cell.id: cell for cell in course["released"].cells}
    hints = LESSON.hints()
    stub = LESSON.make_stub()
    for function, cell_id in SOLUTION_CELLS.items():
        text = cells[cell_id].source
        header = stub.functions[function].split("raise NotImplementedError(")[0].rstrip()
        if not text.startswith(header):
            pytest.fail(f"{cell_id}: the released cell lost the signature or docstring:\n{text}")
        hint_words = " ".join("".join(hints[function]).split()[:6])
        if hint_words not in " ".join(line.strip(" #") for line in text.splitlines()):
            pytest.fail(f"{cell_id}: the released cell lost its hint:\n{text}")
        if "raise NotImplementedError()" not in text:
            pytest.fail(f"{cell_id}: the solution was not replaced by nbgrader")


def test_released_notebook_holds_no_solution_line(course: dict) -> None:
    released = "\n".join(cell.source for cell in course["released"].cells
                         if cell.cell_type == "code")
    reference = LESSON.reference.read_text(encoding="utf-8").splitlines()
    regions = stubgen._solution_regions(reference)
    solution_lines = {line.strip() for begin, end in regions
                      for line in reference[begin + 1 : end] if len(line.strip()) > 12}
    stub = LESSON.stub.read_text(encoding="utf-8")  # the contract's own lines are public
    leaked = sorted(line for line in solution_lines if line in released and line not in stub)
    if leaked or stubgen.NBGRADER_BEGIN in released:
        pytest.fail(f"solution lines reached the released notebook: {leaked[:5]}")


def test_source_cells_are_graded_with_the_configured_points(course: dict) -> None:
    notebook = nbformat.read(course["source"], 4)
    graded = {cell.id: cell.metadata["nbgrader"]["points"] for cell in notebook.cells
              if cell.metadata["nbgrader"]["grade"]}
    expected = {SOLUTION_CELLS[f]: points for f, points in POINTS.items()}
    if graded != expected:
        pytest.fail(f"graded cells {graded}, expected {expected}")


# --- nbgrader autograde ------------------------------------------------------------------


def test_autograde_skips_the_experiment_and_runs_the_rest(course: dict) -> None:
    for student in (course["own_id"], FAULTY_ID, UNTOUCHED_ID):
        path = course["course"] / "autograded" / student / ASSIGNMENT / "regularization.ipynb"
        cells = {cell.id: cell for cell in nbformat.read(path, 4).cells}
        printed = "".join(out.get("text", "") for out in cells["experiment"].outputs)
        if "Skipped while nbgrader grades" not in printed:
            pytest.fail(f"{student}: the experiment cell was not skipped: {cells['experiment']}")
        if cells["check-l2"].execution_count is None:
            pytest.fail(f"{student}: nbgrader did not run the self-checks")


# --- autograder grade on nbgrader's layout ------------------------------------------------


def test_grade_keeps_nbgrader_ids_and_grades_each_notebook(course: dict) -> None:
    rows = _gradebook_csv(course["out"])
    if set(rows) != {course["own_id"], FAULTY_ID, UNTOUCHED_ID}:
        pytest.fail(f"gradebook students {sorted(rows)}; nbgrader's ids must be kept exactly")
    for student in rows:
        if not (course["out"] / student / "feedback.md").is_file():
            pytest.fail(f"no output folder named {student!r}")
    correct, faulty, untouched = (rows[course["own_id"]], rows[FAULTY_ID], rows[UNTOUCHED_ID])
    if float(correct["score"]) != 100 or correct["kind"] != "folder":
        pytest.fail(f"the correct notebook scored {correct}")
    if not (0 < float(faulty["l2_regularization"]) < POINTS["l2_regularization"]
            and float(faulty["dropout"]) == POINTS["dropout"]
            and float(faulty["train_mlp"]) == POINTS["train_mlp"]):
        pytest.fail(f"the faulty notebook (mistake in l2_regularization only) scored {faulty}")
    if float(untouched["score"]) != 0 or untouched["error"]:
        pytest.fail(f"the untouched notebook must be graded (0 points, no error): {untouched}")


def test_autograded_folder_has_the_same_layout(course: dict) -> None:
    submitted = nbgrader_layout.discover(course["course"] / "submitted", REGULARIZATION)
    autograded = nbgrader_layout.discover(course["course"] / "autograded", REGULARIZATION)
    if [name for name, _ in submitted] != [name for name, _ in autograded]:
        pytest.fail(f"submitted {submitted} and autograded {autograded} differ")
    if any(path.name != ASSIGNMENT for _, path in autograded):
        pytest.fail(f"autograded students are not read from their assignment folder: {autograded}")


# --- nbgrader-export, nbgrader export, feedback ---------------------------------------------


def test_nbgrader_export_totals_equal_the_gradebook(course: dict) -> None:
    rows = _gradebook_csv(course["out"])
    with open(course["course"] / "grades.csv", newline="", encoding="utf-8") as stream:
        exported = {row["student_id"]: row for row in csv.DictReader(stream)}
    if set(exported) != set(rows):
        pytest.fail(f"nbgrader export lists {sorted(exported)}, gradebook.csv {sorted(rows)}")
    for student, row in rows.items():
        if abs(float(exported[student]["score"]) - float(row["score"])) > 1e-6 or \
                float(exported[student]["max_score"]) != float(row["max_score"]):
            pytest.fail(f"{student}: nbgrader export {exported[student]} vs gradebook.csv {row}")


def test_gradebook_holds_per_function_scores_and_comments(course: dict) -> None:
    rows = _gradebook_csv(course["out"])
    url = f"sqlite:///{course['course'] / 'gradebook.db'}"
    with Gradebook(url, COURSE_ID) as gradebook:
        for student, row in rows.items():
            for function, cell in SOLUTION_CELLS.items():
                grade = gradebook.find_grade(cell, "regularization", ASSIGNMENT, student)
                comment = gradebook.find_comment(cell, "regularization", ASSIGNMENT, student)
                if abs(grade.score - float(row[function])) > 1e-6 or grade.needs_manual_grade:
                    pytest.fail(f"{student} {cell}: score {grade.score}, expected {row[function]}")
                if "Autograder:" not in (comment.comment or ""):
                    pytest.fail(f"{student} {cell}: no comment from the kit")
        faulty = gradebook.find_comment("l2-regularization", "regularization", ASSIGNMENT,
                                        FAULTY_ID)
        if "failed:" not in faulty.comment:
            pytest.fail(f"the faulty l2 comment does not name a failed test: {faulty.comment}")


def test_release_feedback_ships_the_html_feedback(course: dict) -> None:
    for student in (course["own_id"], FAULTY_ID, UNTOUCHED_ID):
        folder = course["course"] / "feedback" / student / ASSIGNMENT
        page = (folder / "regularization.html").read_text(encoding="utf-8")
        secret = (folder / "submission_secret.txt").read_text()
        shipped = course["exchange"] / COURSE_ID / "feedback" / (
            notebook_hash(secret=secret, notebook_id="regularization") + ".html")
        if not shipped.is_file() or shipped.read_text(encoding="utf-8") != page:
            pytest.fail(f"{student}: release_feedback did not ship {folder}/regularization.html")
        if "<table>" not in page or "Score:" not in page:
            pytest.fail(f"{student}: the feedback page lacks the score table")


def test_student_fetches_the_feedback(course: dict) -> None:
    fetched = sorted((course["home"] / ASSIGNMENT / "feedback").glob("*/regularization.html"))
    if len(fetched) != 1:
        pytest.fail(f"fetch_feedback brought {fetched}")
    text = fetched[0].read_text(encoding="utf-8")
    if not re.search(r"Score: 100 / 100", text):
        pytest.fail("the fetched feedback is not the kit's feedback of a correct notebook")


def test_feedback_html_escapes_what_a_submission_controls() -> None:
    hostile = ("# Feedback for x\n\n<script>alert(1)</script>\n\n- cell 3: `x = 1` `<img src=x "
               "onerror=alert(1)>`\n\n```text\n</pre><script>steal()</script>\n```\n")
    page = adapter.feedback_html(hostile, "<b>student</b>")
    if "<script" in page or "<img" in page or "<b>student" in page:
        pytest.fail(f"markup from the submission reached the feedback page:\n{page}")


def test_export_refuses_a_folder_that_is_not_a_course(course: dict, tmp_path: Path) -> None:
    result = _run([BIN / "autograder", "nbgrader-export", course["out"], "--course", tmp_path],
                  cwd=tmp_path, check=False)
    if result.returncode == 0 or "gradebook.db" not in result.stderr:
        pytest.fail(f"export into a non-course folder: {result.returncode} {result.stderr}")
    if (tmp_path / "gradebook.db").exists():
        pytest.fail("the export created a gradebook in a folder that is not a course")


def test_export_reads_the_submission_time_nbgrader_wrote(tmp_path: Path) -> None:
    """Without ``nbgrader autograde`` (the kit's grade replaces it), the export is what
    gives the submission its time, which late penalties and ``nbgrader export`` need."""
    folder = tmp_path / "submitted" / "dave" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / "timestamp.txt").write_text("2026-11-26 10:00:00.000000 UTC\n")
    coursedir = adapter._course_directory(tmp_path)
    stamp = adapter._timestamp(coursedir, "dave", ASSIGNMENT)
    assert (stamp.year, stamp.month, stamp.day, stamp.hour) == (2026, 11, 26, 10)
    (folder / "timestamp.txt").write_text("not a time")
    assert adapter._timestamp(coursedir, "dave", ASSIGNMENT) is None
    assert adapter._timestamp(coursedir, "erin", ASSIGNMENT) is None

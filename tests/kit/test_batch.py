"""The command line end to end: ``autograder grade`` and ``autograder check``.

A small class (a correct submission, the untouched stub and a syntax error, copied from
``samples/class``) is graded with the real command. The tests check the gradebook and
the Gradescope results, that grading twice gives byte-identical files, that a finished
student is not regraded (``--force`` regrades), that a run killed half-way resumes to
the same gradebook, that ``--require-sandbox`` refuses to grade without bubblewrap, and
that ``autograder check`` passes the reference and fails the stub with its table. Most
runs use the fast public suite; one runs the hidden suite with its MNIST training.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from assignments.regularization.assignment import HIDDEN_SUITE
from assignments.regularization.assignment import REFERENCE as REFERENCE_FILE
from assignments.regularization.assignment import SAMPLES as SAMPLE_CLASS
from assignments.regularization.assignment import STUB as STUB_FILE
from autograder.paths import PROJECT_DIR

STUDENTS = {"ada_lovelace": "correct", "alan_turing": "stub", "barbara_liskov": "syntax error"}
HEADER = "student,score,max_score,l2_regularization,dropout,train_mlp"
TIMEOUT_S = 600


def _run(*args: str, env: dict | None = None, timeout: float = TIMEOUT_S
         ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env=env)


@pytest.fixture(scope="session")
def small_class(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("class")
    for name in STUDENTS:
        shutil.copyfile(SAMPLE_CLASS / f"{name}.py", folder / f"{name}.py")
    return folder


@pytest.fixture(scope="session")
def public_run(small_class: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable:
    """Grade the small class with the public suite into a fresh folder (cached by label)."""
    runs: dict[str, tuple[Path, subprocess.CompletedProcess]] = {}

    def run(label: str) -> tuple[Path, subprocess.CompletedProcess]:
        if label not in runs:
            out = tmp_path_factory.mktemp(f"grades_{label}")
            done = _run("grade", str(small_class), "--out", str(out), "--jobs", "2",
                        "--suite", "public", "--require-sandbox")
            runs[label] = (out, done)
        return runs[label]

    return run


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "gradebook.csv").open(newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def _results(out: Path, student: str) -> dict:
    return json.loads((out / student / "results.json").read_text())


def test_grade_writes_gradebook_results_and_feedback(public_run: Callable) -> None:
    out, done = public_run("first")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "isolation: bubblewrap" in done.stderr
    lines = (out / "gradebook.csv").read_text().splitlines()
    assert lines[0].startswith(HEADER)
    assert len(lines) == 1 + len(STUDENTS)
    rows = _rows(out)
    assert set(rows) == set(STUDENTS)
    assert float(rows["ada_lovelace"]["score"]) == float(rows["ada_lovelace"]["max_score"])
    assert float(rows["alan_turing"]["score"]) == 0
    assert float(rows["barbara_liskov"]["score"]) == 0
    assert "syntax error on line" in rows["barbara_liskov"]["error"]
    assert rows["ada_lovelace"]["error"] == "" and rows["alan_turing"]["error"] == ""
    for student in STUDENTS:
        results = _results(out, student)
        assert isinstance(results["score"], int | float)
        assert results["score"] == pytest.approx(float(rows[student]["score"]))
        for test in results["tests"]:
            assert {"name", "score", "max_score", "output"} <= set(test)
            assert 0 <= test["score"] <= test["max_score"]
        assert sum(t["score"] for t in results["tests"]) == pytest.approx(results["score"],
                                                                           abs=0.01)
        assert (out / student / "feedback.md").read_text().startswith("# Feedback")
    assert _results(out, "ada_lovelace")["tests"], "the correct submission ran no tests"
    stub_feedback = (out / "alan_turing" / "feedback.md").read_text()
    assert "not implemented yet" in stub_feedback


def test_grading_twice_gives_identical_files(public_run: Callable) -> None:
    first, _ = public_run("first")
    second, done = public_run("second")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (first / "gradebook.csv").read_bytes() == (second / "gradebook.csv").read_bytes()
    for student in STUDENTS:
        assert (first / student / "results.json").read_bytes() == \
            (second / student / "results.json").read_bytes(), student


def test_finished_students_are_not_regraded_unless_forced(public_run: Callable,
                                                          small_class: Path) -> None:
    out, _ = public_run("resume")
    stamps = {s: (out / s / "results.json").stat().st_mtime_ns for s in STUDENTS}
    gradebook = (out / "gradebook.csv").read_bytes()
    again = _run("grade", str(small_class), "--out", str(out), "--suite", "public")
    assert again.returncode == 0, again.stderr[-3000:]
    for student in STUDENTS:
        assert f"{student}: already graded" in again.stderr
        assert (out / student / "results.json").stat().st_mtime_ns == stamps[student]
    assert (out / "gradebook.csv").read_bytes() == gradebook
    forced = _run("grade", str(small_class), "--out", str(out), "--suite", "public",
                  "--force", "--jobs", "2")
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert "already graded" not in forced.stderr
    for student in STUDENTS:
        assert (out / student / "results.json").stat().st_mtime_ns != stamps[student]
    assert (out / "gradebook.csv").read_bytes() == gradebook


def test_interrupted_batch_resumes_to_the_same_gradebook(public_run: Callable,
                                                         small_class: Path,
                                                         tmp_path: Path) -> None:
    reference, _ = public_run("first")
    out = tmp_path / "grades"
    command = [sys.executable, "-m", "autograder", "grade", str(small_class), "--out",
               str(out), "--suite", "public", "--jobs", "1"]
    process = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if (out / "ada_lovelace" / "results.json").exists():
                break
            time.sleep(0.05)
        interrupted = process.poll() is None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert interrupted, "the batch finished before it could be interrupted"
    assert not (out / "gradebook.csv").exists()
    resumed = _run("grade", str(small_class), "--out", str(out), "--suite", "public")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "ada_lovelace: already graded" in resumed.stderr
    assert (out / "gradebook.csv").read_bytes() == (reference / "gradebook.csv").read_bytes()
    for student in STUDENTS:
        assert (out / student / "results.json").read_bytes() == \
            (reference / student / "results.json").read_bytes(), student
    leftovers = [p.name for p in out.rglob(".*") if p.is_file()]
    assert leftovers == [], f"temporary files left behind: {leftovers}"


def test_require_sandbox_refuses_without_bubblewrap(small_class: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {**os.environ, "PATH": str(bin_dir)}
    out = tmp_path / "grades"
    done = _run("grade", str(small_class), "--out", str(out), "--require-sandbox",
                "--suite", "public", env=env, timeout=120)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "--require-sandbox" in done.stderr and "bubblewrap" in done.stderr
    assert not (out / "gradebook.csv").exists()
    assert not any(out.glob("*/results.json"))


def test_without_bubblewrap_the_gradebook_records_process_isolation(
        small_class: Path, tmp_path: Path) -> None:
    submissions = tmp_path / "one"
    submissions.mkdir()
    shutil.copyfile(small_class / "alan_turing.py", submissions / "alan_turing.py")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    out = tmp_path / "grades"
    done = _run("grade", str(submissions), "--out", str(out), "--suite", "public",
                env={**os.environ, "PATH": str(bin_dir)}, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "bubblewrap (bwrap) is not available" in done.stderr
    assert _rows(out)["alan_turing"]["isolation"].startswith("process; ")


def test_check_passes_the_reference_and_prints_the_table() -> None:
    done = _run("check", str(REFERENCE_FILE), timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "All public tests passed." in done.stdout
    for function in ("l2_regularization", "dropout", "train_mlp"):
        assert any(line.startswith(function) for line in done.stdout.splitlines()), function
    assert "FAILED" not in done.stdout


def test_check_fails_the_stub_with_the_table() -> None:
    done = _run("check", str(STUB_FILE), timeout=300)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    table = {line.split()[0]: line for line in done.stdout.splitlines()
             if line.split() and line.split()[0] in ("l2_regularization", "dropout",
                                                      "train_mlp")}
    assert set(table) == {"l2_regularization", "dropout", "train_mlp"}
    assert all(line.split()[1] == "0" for line in table.values()), table
    assert "not implemented yet" in done.stdout
    assert "public test(s) failed." in done.stdout


def test_hidden_suite_end_to_end(small_class: Path, tmp_path: Path) -> None:
    out = tmp_path / "grades"
    done = _run("grade", str(small_class), "--out", str(out), "--jobs", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = _rows(out)
    assert rows["ada_lovelace"]["score"] == rows["ada_lovelace"]["max_score"] == "100"
    assert [rows[s]["score"] for s in ("alan_turing", "barbara_liskov")] == ["0", "0"]
    names = {t["name"] for t in _results(out, "ada_lovelace")["tests"]}
    assert any("train_mlp" in name for name in names)
    secret = {line.strip() for path in [REFERENCE_FILE, *HIDDEN_SUITE.glob("*.py")]
              for line in path.read_text().splitlines() if len(line.strip()) >= 25}
    secret -= {line.strip() for s in STUDENTS
               for line in (small_class / f"{s}.py").read_text().splitlines()}
    for student in STUDENTS:
        text = (out / student / "feedback.md").read_text() + \
            (out / student / "results.json").read_text()
        assert [line for line in secret if line in text] == [], student


def test_output_folder_inside_the_submissions_is_not_graded_as_a_student(
        tmp_path: Path) -> None:
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    shutil.copyfile(SAMPLE_CLASS / "alan_turing.py", submissions / "alan_turing.py")
    out = submissions / "grades"
    for _ in range(2):  # the second run finds the first run's output folder in place
        done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(submissions),
                               "--out", str(out), "--suite", "public"],
                              capture_output=True, text=True, cwd=PROJECT_DIR)
        assert done.returncode == 0, done.stderr
        assert list(_rows(out)) == ["alan_turing"]


def test_a_grading_process_that_fails_is_its_students_row_and_the_batch_goes_on(
        small_class: Path, tmp_path: Path) -> None:
    """A grading process that dies (here: the suite is missing, a grader-side problem) gives
    its student a row that says the grader failed, with the process's last error line;
    every other student is still graded and gets their pages."""
    from autograder import config
    from autograder.grading import batch
    from autograder.sandbox import launch as sandbox

    out = tmp_path / "out"
    students = batch.grade_class(small_class, out, tmp_path / "no-such-suite", config.load(),
                                 seed=1, jobs=2, force=False, mode=sandbox.isolation(),
                                 data=tmp_path / "unused.npz", log=lambda _: None)
    assert sorted(students) == sorted(STUDENTS)
    for name, kind in STUDENTS.items():
        results = json.loads((out / name / "results.json").read_text())
        error = results["extra_data"]["error"]
        assert results["score"] == 0 and (out / name / "feedback.html").is_file()
        if kind == "syntax error":  # refused before any suite runs: the student's own fault
            assert "grader failed" not in error and "syntax error on line" in error
        else:
            assert error.startswith("The grader failed on this submission (grading process "
                                    "exit 1: "), error
            assert "no-such-suite could not run" in error and "ask your instructor" in error


def test_a_folder_nested_past_the_stack_is_its_students_row_and_the_batch_goes_on(
        tmp_path: Path) -> None:
    """1,100 folders inside one another exhausted Python's stack where the batch hashed
    the submissions (os.walk recurses on Python 3.10 and 3.11), so no student was graded.
    Now that student's row says what is wrong, and the next student is graded."""
    submissions = tmp_path / "submissions"
    deep = submissions / "deep_folder"
    shutil.copytree(SAMPLE_CLASS / "katherine_johnson", deep)
    nested = deep
    for _ in range(1100):  # one level at a time: mkdir(parents=True) recurses too
        nested = nested / "d"
        nested.mkdir()
    shutil.copyfile(SAMPLE_CLASS / "alan_turing.py", submissions / "alan_turing.py")
    out = tmp_path / "out"
    try:
        done = _run("grade", str(submissions), "--out", str(out), "--suite", "public")
    finally:
        while nested != deep:  # shutil.rmtree, which pytest cleans up with, recurses too
            nested.rmdir()
            nested = nested.parent
    assert done.returncode == 0, done.stderr
    rows = _rows(out)
    assert rows["deep_folder"]["score"] == "0"
    assert rows["deep_folder"]["error"] == ("folder deep_folder has folders nested more than "
                                            "32 deep; submit only your code.")
    assert rows["alan_turing"]["error"] == "" and (out / "alan_turing" / "feedback.md").is_file()


def test_folder_entries_lists_files_and_links_and_stops_at_the_depth_limit(
        tmp_path: Path) -> None:
    from autograder.grading.submission import MAX_FOLDER_DEPTH, folder_entries

    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f.py").write_text("x = 1\n")
    (tmp_path / "link").symlink_to(tmp_path / "a")  # listed, never followed
    too_deep = tmp_path.joinpath(*["n"] * (MAX_FOLDER_DEPTH + 1))
    (too_deep / "below").mkdir(parents=True)
    assert folder_entries(tmp_path) == [tmp_path / "a" / "b" / "f.py", tmp_path / "link",
                                        too_deep]


def _worker_pids() -> set[int]:
    """The sandboxed workers running on this machine (their command line names worker.py)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"runtime/worker.py" in (entry / "cmdline").read_bytes():
                pids.add(int(entry.name))
        except OSError:  # gone meanwhile
            continue
    return pids


def test_sigterm_stops_the_batch_and_the_gradings_it_started(tmp_path: Path) -> None:
    """``kill`` (or a scheduler's time limit) used to end the command alone, while the fork
    server's grading processes and their sandboxed workers graded on, unseen."""
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for name in ("first", "second"):
        shutil.copyfile(SAMPLE_CLASS / "ada_lovelace.py", submissions / f"{name}.py")
    before = _worker_pids()
    command = subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", str(submissions), "--out",
         str(tmp_path / "out"), "--jobs", "2"], cwd=PROJECT_DIR, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not _worker_pids() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _worker_pids() - before, "no grading started"
    command.terminate()
    _, stderr = command.communicate(timeout=60)
    assert command.returncode == 130, stderr
    assert "interrupted" in stderr
    deadline = time.monotonic() + 10
    while _worker_pids() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _worker_pids() - before


def test_an_error_that_starts_like_a_formula_is_text_in_the_gradebook(tmp_path: Path) -> None:
    """The error column quotes the file name first; a name such as ``=HYPERLINK(...)`` made
    the cell a formula in Excel, LibreOffice and Google Sheets."""
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    (submissions / '=HYPERLINK("http:x","y")+1.py').write_text("def f(:\n")
    shutil.copyfile(SAMPLE_CLASS / "alan_turing.py", submissions / "alan_turing.py")
    out = tmp_path / "out"
    done = _run("grade", str(submissions), "--out", str(out), "--suite", "public")
    assert done.returncode == 0, done.stderr
    (row,) = [r for name, r in _rows(out).items() if name != "alan_turing"]
    assert row["error"].startswith("'=HYPERLINK(\"http:x\",\"y\")+1.py has a syntax error")

"""The command line's edges: every bad path or option gets a message (exit 2, never a
traceback) before any grading starts; one file can be graded; ``--config`` works after
the subcommand; help is plain text; output files are readable by the group; identical
failures are explained once; hints name the student's own file; progress lines; a local
grade starts its fork server before the command line's imports."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from assignments.regularization.assignment import SAMPLES as SAMPLE_CLASS
from autograder.command import grades_here
from autograder.paths import PROJECT_DIR
from autograder.reports.progress import Progress


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=timeout, check=False)


def refused(done: subprocess.CompletedProcess, *phrases: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "graded" not in done.stderr  # refused before any grading
    for phrase in phrases:
        assert phrase in done.stderr, done.stderr


@pytest.fixture()
def one_student(tmp_path: Path) -> Path:
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copyfile(SAMPLE_CLASS / "ada_lovelace.py", folder / "ada_lovelace.py")
    return folder


def test_missing_submissions_path_does_not_exist(tmp_path: Path) -> None:
    refused(run("grade", str(tmp_path / "typo"), "--out", str(tmp_path / "out")),
            "typo does not exist")
    assert not (tmp_path / "out").exists()


def test_out_naming_a_file(one_student: Path, tmp_path: Path) -> None:
    target = tmp_path / "grades.csv"
    target.write_text("keep me")
    refused(run("grade", str(one_student), "--out", str(target)), "is a file")
    assert target.read_text() == "keep me"
    refused(run("grade", str(one_student), "--out", str(target / "deeper")),
            "is a file, so the folder cannot be created")


def test_out_being_the_submissions_folder(one_student: Path) -> None:
    refused(run("grade", str(one_student), "--out", str(one_student)),
            "is the submissions folder itself")


def test_file_that_is_not_a_submission(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    refused(run("grade", str(notes), "--out", str(tmp_path / "out")),
            "neither a folder of submissions nor a .py or .ipynb file")


def test_bad_jobs_and_config_after_the_subcommand(one_student: Path, tmp_path: Path) -> None:
    refused(run("grade", str(one_student), "--out", str(tmp_path / "o"), "--jobs", "0"),
            "--jobs must be at least 1")
    refused(run("grade", str(one_student), "--out", str(tmp_path / "o"), "--config",
                str(tmp_path / "nope.py")), "nope.py not found")
    refused(run("--config", str(tmp_path / "nope.py"), "grade", str(one_student), "--out",
                str(tmp_path / "o")), "nope.py not found")
    refused(run("check", str(SAMPLE_CLASS / "ada_lovelace.py"), "--config",
                str(tmp_path / "nope.py")), "nope.py not found")


@pytest.mark.parametrize("command", [[], ["grade"], ["check"], ["gradescope", "build"],
                                     ["export", "canvas"]])
def test_help_is_plain_text(command: list[str]) -> None:
    done = run(*command, "--help")
    assert done.returncode == 0
    assert "``" not in done.stdout and ":func:" not in done.stdout
    if command == ["grade"]:
        assert "--suite" in done.stdout and "hidden" in done.stdout and "public" in done.stdout


def test_single_file_graded_group_readable_with_plain_progress(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run("grade", str(SAMPLE_CLASS / "alan_turing.py"), "--out", str(out), "--suite",
               "public")
    assert done.returncode == 0, done.stderr
    assert "[1/1] alan_turing: 0/100" in done.stderr  # stderr is not a terminal: plain lines
    assert (out / "gradebook.csv").read_text().splitlines()[1].startswith("alan_turing,0,")
    for path in [out / "gradebook.csv", out / "tests.csv", out / "report.html",
                 *(out / "alan_turing").iterdir()]:
        assert path.stat().st_mode & stat.S_IRGRP, path
    feedback = (out / "alan_turing" / "feedback.md").read_text()
    # the untouched stub: one explanation per function, listing the tests it covers
    assert feedback.count("is not implemented yet") <= 4
    assert "tests with the same problem" in feedback


def test_syntax_error_hint_names_the_students_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run("grade", str(SAMPLE_CLASS / "barbara_liskov.py"), "--out", str(out),
               "--suite", "public")
    assert done.returncode == 0, done.stderr
    feedback = (out / "barbara_liskov" / "feedback.md").read_text()
    assert "python barbara_liskov.py" in feedback
    assert "python regularization.py" not in feedback


def test_progress_bar_on_a_terminal_and_plain_lines_elsewhere() -> None:
    stream = io.StringIO()
    progress = Progress(stream, bar=True)
    progress("ada: already graded (100), skipped; --force regrades")
    for done in (1, 2, 3):
        progress(f"[{done}/3] student{done}: 50/100 (1.0 s)")
    text = stream.getvalue()
    assert "already graded" in text
    assert "3/3" in text and "student" in text and "<" in text  # tqdm's elapsed<left
    assert "[1/3] student1" not in text
    plain = io.StringIO()
    Progress(plain, bar=False)("[1/3] student1: 50/100 (1.0 s)")
    assert plain.getvalue() == "[1/3] student1: 50/100 (1.0 s)\n"


def test_gradescope_build_target_problems(tmp_path: Path) -> None:
    refused(run("gradescope", "build", str(tmp_path)), "is a folder")
    refused(run("gradescope", "build", str(tmp_path / "missing" / "autograder.zip")),
            "does not exist")


@pytest.mark.parametrize(("argv", "expected"), [
    (["grade", "subs", "--out", "o"], True),
    (["--config", "grader_config.py", "grade", "subs", "--out", "o", "--jobs", "2"], True),
    (["--config=grader_config.py", "grade", "subs", "--out", "o"], True),
    (["grade", "subs", "--out", "o", "--cluster", "local:2"], False),
    (["grade", "subs", "--out", "o", "--cluster=tcp://host:8786"], False),
    (["grade", "--help"], False),
    (["--config", "grade", "check"], False),  # "grade" is the config file's name here
    (["check"], False),
    (["release", "grade"], False),
    ([], False),
])
def test_which_commands_grade_on_this_machine(argv: list[str], expected: bool) -> None:
    assert grades_here(argv) is expected


START_ORDER = """
import multiprocessing.forkserver as fork_server, sys
started = fork_server.ensure_running
def spy():
    print("command line imported before the fork server:", "autograder.cli" in sys.modules)
    started()
fork_server.ensure_running = spy
sys.argv = ["autograder", *sys.argv[1:]]
from autograder.command import main
sys.exit(main())
"""


def test_a_local_grade_starts_the_fork_server_before_the_command_lines_imports(
        tmp_path: Path) -> None:
    """The fork server's imports (about a second) then run beside the command's own."""
    grading = subprocess.run(
        [sys.executable, "-c", START_ORDER, "grade", str(tmp_path / "missing"), "--out",
         str(tmp_path / "out")], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    lines = grading.stdout.splitlines()
    assert lines[0] == "command line imported before the fork server: False", grading.stdout
    assert grading.returncode == 2 and "does not exist" in grading.stderr, grading.stderr
    checking = subprocess.run([sys.executable, "-c", START_ORDER, "check", "--help"],
                              cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert checking.returncode == 0 and "fork server" not in checking.stdout, checking.stdout


AT_THE_END = """
import gc, sys
sys.argv = ["autograder", *sys.argv[1:]]
from autograder.command import main
try:
    main()
finally:
    print("objects frozen when the command returns:", gc.get_freeze_count() > 0)
"""


@pytest.mark.parametrize("argv", [["grade", "missing", "--out", "out"], ["check", "--help"]])
def test_the_command_leaves_its_objects_frozen_for_the_interpreters_shutdown(
        argv: list[str], tmp_path: Path) -> None:
    """The shutdown's garbage collections then skip them (0.2 to 0.4 s after a grade)."""
    ended = subprocess.run([sys.executable, "-c", AT_THE_END, *argv], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)})
    assert "objects frozen when the command returns: True" in ended.stdout, ended.stderr

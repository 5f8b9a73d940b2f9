"""Command line: ``autograder check`` for students, ``autograder grade`` for instructors,
``autograder nbgrader-export`` to hand grades and feedback to an nbgrader course."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from autograder import config as config_module
from autograder import dataset
from autograder.assignment import Assignment, DataProblem
from autograder.config import ConfigError
from autograder.grading import batch, fork_server, nbgrader_layout, submission, target
from autograder.grading.grade import GraderProblem, grade, kill_descendants
from autograder.platforms import gradescope, lms, nbgrader
from autograder.reports import class_report
from autograder.reports import documents as reports
from autograder.reports.progress import Progress
from autograder.sandbox import cgroup, seccomp_filter, slots
from autograder.sandbox import launch as sandbox
from autograder.sandbox import view as sandbox_view
from autograder.selfcheck import report
from autograder.selfcheck.report import Outcome


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _isolation(require_sandbox: bool) -> str:
    mode = sandbox.isolation()
    if mode == sandbox.BUBBLEWRAP:
        # Found (or built) once here; the grading processes inherit its location.
        os.environ[sandbox_view.VIEW_VARIABLE] = str(sandbox_view.package_view())
        _log("isolation: bubblewrap sandbox (no network, private /tmp, read-only minimal "
             "filesystem, seccomp filter, kernel limits; memory: "
             f"{cgroup.probe().describe()})")
    else:
        reason = seccomp_filter.available()[1] or "bwrap is missing or cannot run"
        _log("isolation: separate process with kernel limits only; bubblewrap (bwrap) is not "
             f"available here with its seccomp filter ({reason}), so student code can read "
             "files this user can read. Install bubblewrap and libseccomp2 "
             "(scripts/setup.sh) for full isolation.")
        if require_sandbox:
            raise GraderProblem("--require-sandbox was given but bubblewrap is not available; "
                                "install the 'bubblewrap' package or drop --require-sandbox.")
    return mode


def check(args: argparse.Namespace) -> int:
    """Run the public suite on one submission and print a per-function table."""
    config = config_module.load(args.config)
    try:
        path = target.resolve(args.path, Path.cwd(), config.assignment)
    except target.NoSubmission as problem:
        raise GraderProblem(str(problem)) from None
    mode = _isolation(require_sandbox=False)
    with (tempfile.TemporaryDirectory(prefix="regkit-check-") as scratch,
          slots.claimed(1) as (slot,)):
        result = grade(path.stem, target.with_siblings(path, Path(scratch), config.assignment),
                       config.assignment.public_suite, config, seed=config.PUBLIC_SEED,
                       slot=slot, mode=mode,
                       data_loader=lambda: config.assignment.load_data(config))
    kill_descendants()
    outcomes = [Outcome(t.outcome.function, t.outcome.name, t.outcome.passed,
                        t.outcome.message, t.outcome.output) for t in result.tests]
    text, passed = report.render(str(path), outcomes, result.error, result.notes,
                                 functions=config.functions)
    print(text)
    return 0 if passed else 1


def _submissions(path: Path) -> Path:
    """The folder of submissions, or the one file to grade; explains what is wrong."""
    if not path.exists():
        raise GraderProblem(f"{path} does not exist; give the folder of submissions (one "
                            ".py/.ipynb file or sub-folder per student) or one file.")
    if path.is_file() and path.suffix not in (".py", ".ipynb"):
        raise GraderProblem(f"{path} is neither a folder of submissions nor a .py or .ipynb "
                            "file, so there is nothing to grade in it.")
    if not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
        raise GraderProblem(f"{path} cannot be read by this user; check its permissions.")
    return path


def _output_folder(out: Path, submissions: Path) -> Path:
    """Check ``--out`` before any grading starts (and create it)."""
    if out.exists() and not out.is_dir():
        raise GraderProblem(f"--out {out} is a file; give a folder for the gradebook and "
                            "feedback (it is created if missing).")
    if out.resolve() == submissions.resolve():
        raise GraderProblem(f"--out {out} is the submissions folder itself; write the "
                            "results to another folder.")
    existing = next((p for p in [out, *out.parents] if p.exists()), Path("."))
    if not existing.is_dir():
        raise GraderProblem(f"--out {out}: {existing} is a file, so the folder cannot be "
                            "created there.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise GraderProblem(f"--out {out}: this user cannot write in {existing}.")
    out.mkdir(parents=True, exist_ok=True)
    return out


def grade_command(args: argparse.Namespace) -> int:
    """Grade every submission in a folder (or one file) and write the reports."""
    config = config_module.load(args.config)
    given = _submissions(Path(args.submissions))
    if args.jobs is not None and args.jobs < 1:
        raise GraderProblem(f"--jobs must be at least 1, got {args.jobs}")
    if given.is_dir() and nbgrader_layout.course_root_hint(given):
        raise GraderProblem(nbgrader_layout.course_root_hint(given))
    out = _output_folder(Path(args.out), given)
    if given.is_dir() and not [path for _, path in submission.discover(given, config.assignment)
                               if path.resolve() != out.resolve()]:
        raise GraderProblem(f"no submission found in {given}: it holds no .py or .ipynb file "
                            "and no sub-folder. Give the folder with one file or sub-folder "
                            "per student (nbgrader: COURSE/submitted).")
    mode = None if args.cluster else _isolation(args.require_sandbox)  # workers probe their own
    assignment = config.assignment
    suite = assignment.public_suite if args.suite == "public" else assignment.hidden_suite
    seed = config.PUBLIC_SEED if args.suite == "public" else config.HIDDEN_SEED
    progress = Progress()
    if not args.cluster:
        fork_server.start()  # if the command has not started it: see autograder.command
    class_report.prepare()  # the report's imports overlap the grading
    with tempfile.TemporaryDirectory(prefix="regkit-batch-") as scratch:
        try:
            saved = dataset.saved(assignment, config, Path(scratch))
        except DataProblem as problem:
            raise GraderProblem(str(problem)) from problem
        folder = given
        if given.is_file():  # one file: graded as a class of one, named by its stem
            folder = Path(scratch) / "one"
            folder.mkdir()
            shutil.copyfile(given, folder / given.name)
        students = _run_batch(args, folder, out, suite, config, seed, mode, saved, progress)
    progress.close()
    path = reports.write_gradebook(out, students, assignment.functions)
    lms.write_tests_csv(out, students)
    report, summary = class_report.write(out, students, assignment.functions)
    _log(summary)
    _log(f"gradebook: {path}; per test: {out / lms.TESTS_FILE}; class report: {report}")
    # One file that cannot be graded is that student's row; a whole folder of them is a
    # layout mismatch.
    return _all_unusable(given, out, students, assignment) if given.is_dir() else 0


def _run_batch(args: argparse.Namespace, folder: Path, out: Path, suite: Path,
               config: config_module.Config, seed: int, mode: str | None, data: Path | None,
               log: Progress) -> list[str]:
    """Grade the folder with the local runner, or with ``--cluster`` on Dask (whose module,
    and Dask itself, are imported only then)."""
    if args.cluster:
        from autograder import cluster

        return cluster.grade_class(folder, out, suite, config, seed=seed, jobs=args.jobs,
                                   force=args.force, address=args.cluster,
                                   require_sandbox=args.require_sandbox, data=data, log=log)
    with _terminate_as_interrupt():
        return batch.grade_class(folder, out, suite, config, seed=seed, jobs=args.jobs or 1,
                                 force=args.force, mode=mode, data=data, log=log)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, a scheduler's time limit) stops a batch as Ctrl-C does: the
    running gradings are stopped and the command says how to resume. By default the
    command alone would exit and leave its gradings running."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _all_unusable(folder: Path, out: Path, students: list[str], assignment: Assignment) -> int:
    """1, with the reason on stderr, when not one submission could be graded at all.

    A batch in which every student's submission failed before a single test ran almost
    always means the folder is not laid out as the grader expects; its gradebook of zeros
    must not be published by mistake.
    """
    documents = [reports.read_results(out / student) for student in students]
    if any(document and document["tests"] for document in documents):
        return 0
    errors = [d["extra_data"]["error"] for d in documents if d and d["extra_data"]["error"]]
    first = " ".join(errors[0].split())[:400] if errors else "no results were written"
    hint = ("Check that the folder holds one .py/.ipynb file or one sub-folder per student "
            "(nbgrader: <student>/<assignment>/), with the solution in "
            f"{' or '.join(assignment.submission_names)}.")
    _log(f"autograder: none of the {len(students)} submission(s) in {folder} could be graded "
         f"(not a single test ran), so every score in {out / reports.GRADEBOOK_FILE} is 0. "
         f"The first problem: {first} {hint}")
    return 1


def release_command(args: argparse.Namespace) -> int:
    """Write the student bundle (and every other release output) into a folder."""
    from autograder.release import bundle  # the reference and stubgen load only here

    config = config_module.load(args.config)  # the release is of its assignment
    try:
        if args.check:
            leaks = bundle.check_for_leaks(bundle.read_bundle(Path(args.dest), config), config)
            for leak in leaks:
                print(leak)
            _log(f"{len(leaks)} leak(s) found in {args.dest}" if leaks
                 else f"no leak found in {args.dest}")
            return 1 if leaks else 0
        release = bundle.build_release(Path(args.dest), config)
    except (bundle.ReleaseRefused, bundle.NoRelease) as refused:
        raise GraderProblem(str(refused)) from None
    for path in release.written:
        _log(f"wrote {path}")
    return 0


DESCRIPTION = ("Autograder kit. Students: 'autograder check' runs the public tests on your "
               "solution (the .py or .ipynb file the assignment names). Instructors: "
               "'autograder grade' grades a folder (or one file) of submissions; 'autograder "
               "gradescope build' writes a Gradescope autograder zip; 'autograder export "
               "canvas' turns a gradebook into a Canvas import; 'autograder release' writes "
               "the student bundle and the nbgrader source; 'autograder nbgrader-export' hands"
               " grades and feedback to nbgrader. Each command has its own --help.")
_CONFIG_HELP = ("grader_config.py to use, which names its assignment (default: the kit's "
                "own)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``autograder`` command."""
    parser = argparse.ArgumentParser(prog="autograder", description=DESCRIPTION)
    parser.add_argument("--config", default=None, help=_CONFIG_HELP)
    commands = parser.add_subparsers(dest="command", required=True)
    check_parser = commands.add_parser("check", help="run the public tests on your work")
    check_parser.add_argument("path", nargs="?", help="your solution (.py, .ipynb or folder; "
                              "default: the assignment's file in the current folder)")
    check_parser.set_defaults(run=check)
    grade_parser = commands.add_parser(
        "grade", help="grade a folder of submissions (or one file)",
        description="Grade every submission in a folder (each .py or .ipynb file, or "
                    "sub-folder, is one student) or one file, and write gradebook.csv, "
                    "tests.csv, report.html and per student results.json, feedback.md and "
                    "feedback.html into --out.")
    grade_parser.add_argument("submissions", help="folder with one file or folder per student, "
                              "or a single .py/.ipynb file")
    grade_parser.add_argument("--out", required=True, help="folder for gradebook and feedback")
    grade_parser.add_argument("--jobs", type=int, default=None,
                              help="submissions graded at once (default 1; with --cluster: "
                                   "submissions in flight, default twice the workers' threads)")
    grade_parser.add_argument("--force", action="store_true",
                              help="regrade students that already have results")
    grade_parser.add_argument("--require-sandbox", action="store_true",
                              help="refuse to grade without bubblewrap (with --cluster: "
                                   "on any worker)")
    grade_parser.add_argument("--cluster", metavar="ADDRESS", default=None,
                              help="grade each student as a task on a Dask distributed "
                                   "cluster: 'local:N' starts N single-threaded worker "
                                   "processes here, anything else is a scheduler address "
                                   "(tcp://host:8786); every worker needs the same kit "
                                   "installed, and bubblewrap for the sandbox")
    grade_parser.add_argument("--suite", choices=("hidden", "public"), default="hidden",
                              help="tests that give the points: 'hidden' (default, the full "
                                   "grading suite) or 'public' (the students' own self-check "
                                   "tests, fast)")
    grade_parser.set_defaults(run=grade_command)
    release_parser = commands.add_parser(
        "release", help="write the student bundle (DIR/student/, DIR/student.zip)")
    release_parser.add_argument("dest", metavar="DIR", help="folder for the release")
    release_parser.add_argument("--check", action="store_true",
                                help="write nothing: run the leak check on the student bundle "
                                     "DIR (a folder or a .zip) and list what it finds")
    release_parser.set_defaults(run=release_command)
    nbgrader.add_export_parser(commands)
    gradescope.register(commands)
    lms.register(commands)
    _accept_config_everywhere(commands)
    return parser


def _accept_config_everywhere(commands: argparse._SubParsersAction) -> None:
    """Let ``--config`` also follow the subcommand (``autograder grade --config X ...``)."""
    for sub in commands.choices.values():
        nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            _accept_config_everywhere(nested[0])
        else:
            sub.add_argument("--config", default=argparse.SUPPRESS, help=_CONFIG_HELP)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``autograder`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (GraderProblem, ConfigError, gradescope.BuildProblem, lms.ExportProblem) as problem:
        _log(f"autograder: {problem}")
        return 2
    except OSError as error:  # a file the command needs cannot be read or written
        _log(f"autograder: {error.strerror or error}: {error.filename or ''}".rstrip(": "))
        return 2
    except KeyboardInterrupt:
        _log("autograder: interrupted. A grading run continues where it stopped when the "
             "same command is run again (finished students are kept).")
        return 130

"""Command line: ``autograder check`` for students, ``autograder grade`` for instructors."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from autograder import batch, class_report, data, feedback_html, reports, sandbox
from autograder import config as config_module
from autograder.config import FUNCTIONS, ConfigError
from autograder.grading import GraderProblem, grade, kill_descendants
from autograder.paths import HIDDEN_SUITE, NOTEBOOK_FILE, PUBLIC_SUITE, STUB_FILE
from autograder.platforms import gradescope, lms
from autograder.progress import Progress


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _isolation(require_sandbox: bool) -> str:
    mode = sandbox.isolation()
    if mode == sandbox.BUBBLEWRAP:
        _log("isolation: bubblewrap sandbox (no network, private /tmp, read-only minimal "
             "filesystem, kernel limits)")
    else:
        _log("isolation: separate process with kernel limits only; bubblewrap (bwrap) is not "
             "available here, so student code can read files this user can read. Install "
             "bubblewrap for full isolation.")
        if require_sandbox:
            raise GraderProblem("--require-sandbox was given but bubblewrap is not available; "
                                "install the 'bubblewrap' package or drop --require-sandbox.")
    return mode


def _default_target() -> Path:
    """regularization.py (or .ipynb) in the current folder, else the assignment's own."""
    for candidate in (Path(STUB_FILE.name), Path(NOTEBOOK_FILE.name), STUB_FILE):
        if candidate.exists():
            return candidate
    return NOTEBOOK_FILE


def check(args: argparse.Namespace) -> int:
    """Run the public suite on one submission and print a per-function table."""
    config = config_module.load(args.config)
    path = Path(args.path) if args.path else _default_target()
    if not path.exists():
        raise GraderProblem(f"{path} does not exist; give the path of your regularization.py "
                            "or regularization.ipynb.")
    mode = _isolation(require_sandbox=False)
    result = grade(path.stem, path, PUBLIC_SUITE, config, seed=config.PUBLIC_SEED, slot=0,
                   mode=mode, mnist_loader=lambda: data.load_split(config))
    kill_descendants()
    print(f"Public tests for {path}\n")
    if result.error:
        print(f"Problem: {result.error}\n")
    print(f"{'function':<20} {'passed':>8}")
    for function in FUNCTIONS:
        tests = [t for t in result.tests if t.outcome.function == function]
        print(f"{function:<20} {sum(t.outcome.passed for t in tests):>3} / {len(tests):<3}")
    failed = [t.outcome for t in result.tests if not t.outcome.passed]
    for outcome in failed:
        print(f"\nFAILED {outcome.function}: {outcome.name}\n{outcome.message}")
        if outcome.output:
            print(f"Your code printed:\n{outcome.output}")
    for note in result.notes:
        print(f"not run: {note}")
    passed = bool(result.tests) and not failed and not result.error
    print("\nAll public tests passed." if passed else f"\n{len(failed)} public test(s) failed.")
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
    target = _submissions(Path(args.submissions))
    if args.jobs < 1:
        raise GraderProblem(f"--jobs must be at least 1, got {args.jobs}")
    out = _output_folder(Path(args.out), target)
    mode = _isolation(args.require_sandbox)
    suite = PUBLIC_SUITE if args.suite == "public" else HIDDEN_SUITE
    seed = config.PUBLIC_SEED if args.suite == "public" else config.HIDDEN_SEED
    try:
        split = data.load_split(config)
    except data.helpers().MnistDataError as error:
        raise GraderProblem(f"MNIST data: {error}") from error
    progress = Progress()
    with tempfile.TemporaryDirectory(prefix="regkit-batch-") as scratch:
        mnist = Path(scratch) / "mnist_split.npz"
        data.save(split, mnist)
        folder = target
        if target.is_file():  # one file: graded as a class of one, named by its stem
            folder = Path(scratch) / "one"
            folder.mkdir()
            shutil.copyfile(target, folder / target.name)
        students = batch.grade_class(folder, out, suite, config, seed=seed, jobs=args.jobs,
                                     force=args.force, mode=mode, mnist=mnist, log=progress)
    progress.close()
    path = reports.write_gradebook(out, students)
    lms.write_tests_csv(out, students)
    feedback_html.write_all(out, students)
    report, summary = class_report.write(out, students)
    _log(summary)
    _log(f"gradebook: {path}; per test: {out / lms.TESTS_FILE}; class report: {report}")
    return 0


DESCRIPTION = ("Regularization kit. Students: 'autograder check' runs the public tests on "
               "your regularization.py or .ipynb. Instructors: 'autograder grade' grades a "
               "folder (or one file) of submissions; 'autograder gradescope build' writes a "
               "Gradescope autograder zip; 'autograder export canvas' turns a gradebook into "
               "a Canvas import. Each command has its own --help.")
_CONFIG_HELP = "grader_config.py to use (default: the kit's own)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``autograder`` command."""
    parser = argparse.ArgumentParser(prog="autograder", description=DESCRIPTION)
    parser.add_argument("--config", default=None, help=_CONFIG_HELP)
    commands = parser.add_subparsers(dest="command", required=True)
    check_parser = commands.add_parser("check", help="run the public tests on your work")
    check_parser.add_argument("path", nargs="?", help="regularization.py, .ipynb or folder "
                              "(default: regularization.py or .ipynb in the current folder, "
                              "else the assignment's regularization.py)")
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
    grade_parser.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    grade_parser.add_argument("--force", action="store_true",
                              help="regrade students that already have results")
    grade_parser.add_argument("--require-sandbox", action="store_true",
                              help="refuse to grade without bubblewrap")
    grade_parser.add_argument("--suite", choices=("hidden", "public"), default="hidden",
                              help="tests that give the points: 'hidden' (default, the full "
                                   "grading suite with MNIST training) or 'public' (the "
                                   "students' own self-check tests, fast)")
    grade_parser.set_defaults(run=grade_command)
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

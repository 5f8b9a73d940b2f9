"""Command line: ``autograder check`` for students, ``autograder grade`` for instructors,
``autograder nbgrader-export`` to hand grades and feedback to an nbgrader course."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from autograder import (
    batch,
    cgroup,
    data,
    reports,
    sandbox,
    sandbox_view,
    seccomp_filter,
    submission,
    target,
)
from autograder import config as config_module
from autograder.config import ConfigError
from autograder.grading import GraderProblem, grade, kill_descendants
from autograder.paths import HIDDEN_SUITE, PUBLIC_SUITE
from autograder.platforms import nbgrader
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
        path = target.resolve(args.path, Path.cwd())
    except target.NoSubmission as problem:
        raise GraderProblem(str(problem)) from None
    mode = _isolation(require_sandbox=False)
    with tempfile.TemporaryDirectory(prefix="regkit-check-") as scratch:
        result = grade(path.stem, target.with_siblings(path, Path(scratch)), PUBLIC_SUITE,
                       config, seed=config.PUBLIC_SEED, slot=0, mode=mode,
                       mnist_loader=lambda: data.load_split(config))
    kill_descendants()
    outcomes = [Outcome(t.outcome.function, t.outcome.name, t.outcome.passed,
                        t.outcome.message, t.outcome.output) for t in result.tests]
    text, passed = report.render(str(path), outcomes, result.error, result.notes)
    print(text)
    return 0 if passed else 1


def grade_command(args: argparse.Namespace) -> int:
    """Grade every submission in a folder and write the gradebook and feedback."""
    config = config_module.load(args.config)
    folder, out = Path(args.submissions), Path(args.out)
    if not folder.is_dir():
        raise GraderProblem(f"{folder} is not a folder of submissions; give a folder holding "
                            "one .py/.ipynb file or sub-folder per student.")
    if args.jobs < 1:
        raise GraderProblem(f"--jobs must be at least 1, got {args.jobs}")
    if nbgrader.course_root_hint(folder):
        raise GraderProblem(nbgrader.course_root_hint(folder))
    if not [path for _, path in submission.discover(folder) if path.resolve() != out.resolve()]:
        raise GraderProblem(f"no submission found in {folder}: it holds no .py or .ipynb file "
                            "and no sub-folder. Give the folder with one file or sub-folder "
                            "per student (nbgrader: COURSE/submitted).")
    mode = _isolation(args.require_sandbox)
    suite = PUBLIC_SUITE if args.suite == "public" else HIDDEN_SUITE
    seed = config.PUBLIC_SEED if args.suite == "public" else config.HIDDEN_SEED
    try:
        split = data.load_split(config)
    except data.helpers().MnistDataError as error:
        raise GraderProblem(f"MNIST data: {error}") from error
    with tempfile.TemporaryDirectory(prefix="regkit-batch-") as scratch:
        mnist = Path(scratch) / "mnist_split.npz"
        data.save(split, mnist)
        students = batch.grade_class(folder, out, suite, config, seed=seed, jobs=args.jobs,
                                     force=args.force, mode=mode, mnist=mnist, log=_log)
    path = reports.write_gradebook(out, students)
    _log(f"graded {len(students)} submission(s); gradebook: {path}")
    return _all_unusable(folder, out, students)


def _all_unusable(folder: Path, out: Path, students: list[str]) -> int:
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
            "(nbgrader: <student>/<assignment>/), with the solution in regularization.py or "
            "regularization.ipynb.")
    _log(f"autograder: none of the {len(students)} submission(s) in {folder} could be graded "
         f"(not a single test ran), so every score in {out / reports.GRADEBOOK_FILE} is 0. "
         f"The first problem: {first} {hint}")
    return 1


def release_command(args: argparse.Namespace) -> int:
    """Write the student bundle (and every other release output) into a folder."""
    from autograder.release import bundle  # the reference and stubgen load only here

    if args.check:
        leaks = bundle.check_for_leaks(bundle.read_bundle(Path(args.dest)))
        for leak in leaks:
            print(leak)
        _log(f"{len(leaks)} leak(s) found in {args.dest}" if leaks
             else f"no leak found in {args.dest}")
        return 1 if leaks else 0
    try:
        release = bundle.build_release(Path(args.dest))
    except bundle.ReleaseRefused as refused:
        raise GraderProblem(str(refused)) from None
    for path in release.written:
        _log(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``autograder`` command."""
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__)
    parser.add_argument("--config", default=None,
                        help="grader_config.py to use (default: the kit's own)")
    commands = parser.add_subparsers(dest="command", required=True)
    check_parser = commands.add_parser("check", help="run the public tests on your work")
    check_parser.add_argument("path", nargs="?", help="regularization.py, .ipynb or folder "
                              "(default: regularization.py or .ipynb in the current folder)")
    check_parser.set_defaults(run=check)
    grade_parser = commands.add_parser("grade", help="grade a folder of submissions")
    grade_parser.add_argument("submissions", help="folder with one file or folder per student")
    grade_parser.add_argument("--out", required=True, help="folder for gradebook and feedback")
    grade_parser.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    grade_parser.add_argument("--force", action="store_true",
                              help="regrade students that already have results")
    grade_parser.add_argument("--require-sandbox", action="store_true",
                              help="refuse to grade without bubblewrap")
    grade_parser.add_argument("--suite", choices=("hidden", "public"), default="hidden")
    grade_parser.set_defaults(run=grade_command)
    release_parser = commands.add_parser(
        "release", help="write the student bundle (DIR/student/, DIR/student.zip)")
    release_parser.add_argument("dest", metavar="DIR", help="folder for the release")
    release_parser.add_argument("--check", action="store_true",
                                help="write nothing: run the leak check on the student bundle "
                                     "DIR (a folder or a .zip) and list what it finds")
    release_parser.set_defaults(run=release_command)
    nbgrader.add_export_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``autograder`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (GraderProblem, ConfigError) as problem:
        _log(f"autograder: {problem}")
        return 2

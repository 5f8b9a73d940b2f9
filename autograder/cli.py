"""Command line: ``autograder check`` for students, ``autograder grade`` for instructors,
``autograder nbgrader-export`` to hand grades and feedback to an nbgrader course."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from autograder import batch, data, reports, sandbox, submission
from autograder import config as config_module
from autograder.config import FUNCTIONS, ConfigError
from autograder.grading import GraderProblem, grade, kill_descendants
from autograder.paths import HIDDEN_SUITE, NOTEBOOK_FILE, PUBLIC_SUITE, STUB_FILE
from autograder.platforms import nbgrader


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``autograder`` command."""
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__)
    parser.add_argument("--config", default=None,
                        help="grader_config.py to use (default: the kit's own)")
    commands = parser.add_subparsers(dest="command", required=True)
    check_parser = commands.add_parser("check", help="run the public tests on your work")
    check_parser.add_argument("path", nargs="?", help="regularization.py, .ipynb or folder "
                              "(default: regularization.py or .ipynb in the current folder, "
                              "else the assignment's regularization.py)")
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

"""Grades one submission with one suite: stage it, start its workers, run pytest, score.

Every student is graded in a process of its own, so that nothing one submission does can
reach the next one's grading: the batch runner forks it from its fork server
(:func:`run_forked`); the Gradescope entry point starts it as ``python -m
autograder.grading`` (this module's :func:`main`).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import os
import signal
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from autograder import config as config_module
from autograder import environment
from autograder.config import Config
from autograder.grading import submission
from autograder.grading.pytest_plugin import GradingPlugin
from autograder.grading.scoring import ScoredTest, per_function, score_tests
from autograder.reports import feedback_html
from autograder.sandbox import cgroup
from autograder.sandbox import launch as sandbox
from autograder.sandbox.errors import StudentCodeProblem
from autograder.sandbox.proxy import StudentProxy

_PR_SET_CHILD_SUBREAPER = 36
# pytest loads no plugin that other packages register (the suites need none): they would
# cost every grading process their imports and assertion rewriting.
_NO_AUTOLOAD = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


class GraderProblem(RuntimeError):
    """The grader itself cannot grade (a broken suite or missing data): not the student's fault."""


@dataclass
class GradeResult:
    """Everything the reports need about one graded submission."""

    student: str
    kind: str
    isolation: str
    max_score: float
    tests: list[ScoredTest] = field(default_factory=list)
    error: str = ""
    notes: list[str] = field(default_factory=list)
    output: str = ""
    curves: dict[str, list[float]] = field(default_factory=dict)
    curves_key: str = ""
    functions: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        """Total points earned: the sum of the rounded points per function, so that the
        gradebook's columns add up to its total (and Gradescope's tests to both)."""
        return round(sum(self.per_function.values()), 2)

    @property
    def per_function(self) -> dict[str, float]:
        """Points earned per contract function."""
        return per_function(self.tests, self.functions)


# pytest's own plugins a grading does without: the terminal report and the cache, and the
# two that watch for exceptions raised where nothing can catch them. Student code never
# runs in this process, and the unraisable-exception plugin ends every session with full
# garbage collections: 0.04 to 0.06 s of each grading's critical path.
_NOT_LOADED = ("terminal", "cacheprovider", "randomly", "unraisableexception",
               "threadexception")


def _run_suite(suite: Path, plugin: GradingPlugin) -> None:
    args = [str(suite), *(arg for name in _NOT_LOADED for arg in ("-p", f"no:{name}")),
            "-c", os.devnull, "--rootdir", str(suite.parent.parent),
            "-o", "markers=graded: the graded function and weight"]
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), \
            environment.temporarily(_NO_AUTOLOAD):
        code = pytest.main(args, plugins=[plugin])
    if plugin.collection_errors or code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise GraderProblem(f"suite {suite} could not run (pytest exit {code}): "
                            + "; ".join(plugin.collection_errors))


def grade(name: str, path: Path, suite: Path, config: Config, *, seed: int, slot: int,
          mode: str, data_loader: Callable[[], object]) -> GradeResult:
    """Grade the submission at ``path`` (file or folder) with the tests in ``suite``."""
    result = GradeResult(student=name, kind="", max_score=config.max_score,
                         isolation=sandbox.describe(mode, cgroup.probe()),
                         **result_fields(config))
    assignment = config.assignment
    with tempfile.TemporaryDirectory(prefix="regkit-") as workdir, one_blas_thread():
        try:
            staged = submission.stage(name, path, Path(workdir) / "stage", assignment)
        except submission.UnusableSubmission as problem:
            result.error = str(problem)
            result.kind = "folder" if path.is_dir() else path.suffix.lstrip(".")
            return result
        result.kind, result.notes = staged.kind, staged.notes
        student = StudentProxy(staged.stage, config, slot=slot, mode=mode)
        result.isolation = student.isolation
        # Every suite but the public one calls with inputs students must not see: output
        # printed during its calls stays out of the reports (see GradingPlugin).
        hidden_inputs = suite.resolve() != assignment.public_suite.resolve()
        loaded: dict[str, str] = {}

        def load() -> None:
            """Wait for the submission's import (once): its problem is the result's error."""
            if "output" not in loaded:
                try:
                    student.load_report()
                except StudentCodeProblem as problem:
                    result.error = problem.student_message()
                loaded["output"] = student.output.text()

        try:
            student.launch()  # imports the submission while pytest collects the suite
            plugin = GradingPlugin(student, config, seed, data_loader,
                                   hidden_inputs=hidden_inputs, on_collected=load)
            _run_suite(suite, plugin)
            load()
            result.tests = score_tests(plugin.outcomes, config)
            result.curves = plugin.curves
            missing = [f for f, found in _functions(student).items() if found is None]
            if missing and not result.error:
                result.error = "missing function(s): " + ", ".join(missing)
            _name_the_students_file(result, path, assignment.module_file)
        finally:
            student.close()
            result.output = (loaded.get("output", "") if hidden_inputs
                             else student.output.text())
            kill_descendants()
    return result


def one_blas_thread() -> contextlib.AbstractContextManager:
    """The grader's own arithmetic on one BLAS thread, as the workers' is (their
    environment sets it): its results then do not depend on the machine's core count, and
    no idle BLAS thread of the trusted process spins beside the worker's training. With
    OpenBLAS's two threads there, ten gradings at ``--jobs 1`` on two cores took 1 to 14 s
    longer in all (three alternating pairs)."""
    return threadpool_limits(limits=1, user_api="blas")


def result_fields(config: Config) -> dict:
    """What every GradeResult of ``config``'s assignment carries besides the grading."""
    curves = config.assignment.curves
    return {"functions": config.functions, "curves_key": curves.key if curves else ""}


def _name_the_students_file(result: GradeResult, path: Path, module_file: str) -> None:
    """Tracebacks point at the staged module file; name the student's own file."""
    if path.suffix != ".py" or path.name == module_file:
        return
    staged, own = f'File "{module_file}"', f'File "{path.name}"'
    result.error = result.error.replace(staged, own)
    for scored in result.tests:
        scored.outcome.message = scored.outcome.message.replace(staged, own)


def _functions(student: StudentProxy) -> dict[str, str | None]:
    try:
        return student.load_report()["functions"]
    except StudentCodeProblem:
        return {}


def _descendants() -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [os.getpid()]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def kill_descendants() -> None:
    """SIGKILL every process below this one: whatever a submission left running.

    Together with the subreaper flag set by :func:`main`, this also finds processes
    that tried to escape by daemonising.
    """
    for pid in _descendants():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


@dataclass(frozen=True)
class GradingTask:
    """What one student's grading process needs: plain values, so that it can be sent to a
    forked process or written on a command line (:meth:`argv`, read back by :func:`main`)."""

    name: str
    path: Path
    suite: Path
    out: Path
    config: Path
    isolation: str
    seed: int
    slot: int = 0
    fingerprint: str = ""
    data: Path | None = None

    def argv(self) -> list[str]:
        """``python -m autograder.grading`` with this task's options.

        Every option is written ``--option=value``: a value starting with "-" (a file
        named -draft.py) stays a value.
        """
        return [sys.executable, "-m", "autograder.grading", f"--name={self.name}",
                f"--path={self.path}", f"--suite={self.suite}", f"--out={self.out}",
                f"--config={self.config}", f"--isolation={self.isolation}",
                f"--seed={self.seed}", f"--slot={self.slot}",
                f"--fingerprint={self.fingerprint}", f"--data={self.data or ''}"]


def run(task: GradingTask) -> int:
    """Grade one submission and write its reports; the body of every grading process."""
    ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1)
    config = config_module.load(task.config)
    result = grade(task.name, task.path, task.suite, config, seed=task.seed, slot=task.slot,
                   mode=task.isolation,
                   data_loader=lambda: config.assignment.hook("load_saved_data")(task.data))
    feedback_html.write_student(result, task.out, config.assignment,
                                fingerprint=task.fingerprint)
    return 0


def _freeze_imported_objects() -> None:
    """Move every object that exists now (the grader's, pytest's, numpy's and matplotlib's
    imports) out of the garbage collector's sight.

    They live as long as this short process does. Without this, each full collection (a
    few during a grading, and pytest's at the end of the session) walks all of them:
    0.05 to 0.08 s of a grading's critical path, measured on the correct sample.
    """
    gc.freeze()


def forked_process(context: BaseContext, task: GradingTask, stderr_path: str,
                   environment: dict[str, str], cwd: str) -> BaseProcess:
    """The grading process of ``task`` as a fork server forks it (not yet started): the
    batch's and a cluster worker's grading host's are made alike here."""
    return context.Process(target=run_forked, name=f"grading {task.name}",
                           args=(task, stderr_path, environment, cwd))


def run_forked(task: GradingTask, stderr_path: str, environment: dict[str, str],
               cwd: str) -> None:
    """The entry point of a grading process forked from a fork server (the batch's, or a
    cluster worker's grading host's).

    It takes its runner's environment and working folder, sends stdout nowhere and
    stderr to a file the runner reads when the process fails (as for a separately started
    process), then runs :func:`run`.
    """
    _freeze_imported_objects()
    os.environ.clear()
    os.environ.update(environment)
    os.chdir(cwd)
    with open(os.devnull, "wb") as sink, open(stderr_path, "ab") as errors:
        os.dup2(sink.fileno(), 1)
        os.dup2(errors.fileno(), 2)
    sys.exit(run(task))


def main(argv: list[str] | None = None) -> int:
    """Grade one submission and write its reports (``python -m autograder.grading``)."""
    parser = argparse.ArgumentParser(prog="python -m autograder.grading")
    for option in ("--name", "--path", "--suite", "--out", "--config", "--isolation"):
        parser.add_argument(option, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--slot", type=int, default=0)
    parser.add_argument("--fingerprint", default="")
    parser.add_argument("--data", default="", help="the data set the batch saved")
    args = parser.parse_args(argv)
    _freeze_imported_objects()
    return run(GradingTask(args.name, Path(args.path), Path(args.suite), Path(args.out),
                           Path(args.config), args.isolation, args.seed, args.slot,
                           args.fingerprint, Path(args.data) if args.data else None))

"""The pytest plugin that runs a suite against one submission in the trusted process.

It provides the suites' fixtures (``student``, ``data``, ``config``, ``seed_for``,
``record_curve``) and records one outcome per test. A failure's message is taken only
from the grader's own student-facing exceptions (:class:`~autograder.sandbox.errors.Failure`
and the student-code problems); pytest's report, which quotes test source, is never shown
to students.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from autograder.config import Config
from autograder.sandbox.errors import Failure, StudentCodeProblem, StudentRaised
from autograder.sandbox.proxy import CallRecord, StudentProxy
from autograder.selfcheck.messages import quoted, without_long_numbers

HIDDEN_OUTPUT_NOTE = ("\n\n(Your code printed {count} characters during this test. Output "
                      "printed during hidden tests is not shown, since it could reveal the "
                      "hidden inputs; `autograder check` shows it for the public tests.)")
PLOTTABLE = 1e100  # largest loss the feedback plot draws
GRADER_ERROR = ("The grader could not run this test because of a problem on the grader's "
                "side, not in your code; your instructor will regrade it.")


@dataclass
class Outcome:
    """The result of one graded test."""

    test_id: str
    name: str
    function: str
    weight: float
    passed: bool
    message: str = ""
    output: str = ""
    grader_error: str = ""


def _readable_name(item: pytest.Item) -> str:
    name = item.originalname if hasattr(item, "originalname") else item.name
    text = name.removeprefix("test_").replace("_", " ")
    if hasattr(item, "callspec"):
        text += f" [{item.callspec.id}]"
    return text


class GradingPlugin:
    """Gives the suite its fixtures and collects student-facing outcomes."""

    def __init__(self, student: StudentProxy, config: Config, seed: int,
                 data_loader: Callable[[], object], *, hidden_inputs: bool = False,
                 on_collected: Callable[[], None] = lambda: None) -> None:
        self._student, self._config, self._seed = student, config, seed
        self._on_collected = on_collected
        self._data_loader = data_loader
        self._hidden_inputs = hidden_inputs
        self.outcomes: list[Outcome] = []
        self.collection_errors: list[str] = []
        self.curves: dict[str, list[float]] = {}

    @pytest.fixture(scope="session")
    def student(self) -> StudentProxy:
        """The submission, reached through its sandboxed worker."""
        return self._student

    @pytest.fixture(scope="session")
    def config(self) -> Config:
        """The checked grader_config settings."""
        return self._config

    @pytest.fixture(scope="session")
    def data(self) -> object:
        """The assignment's data set, loaded once per session."""
        return self._data_loader()

    @pytest.fixture(scope="session")
    def record_curve(self) -> Callable[[str, object], None]:
        """Keep a per-epoch series (a training loss) for the HTML feedback's plot: at most
        1000 floats under ``label``, each at most ``PLOTTABLE`` in size (matplotlib cannot
        place ticks on an axis from -1e308 to 1e308); anything else is not kept."""

        def record(label: str, values: object) -> None:
            with contextlib.suppress(TypeError, KeyError, IndexError, ValueError,
                                     OverflowError):
                series = [float(x) for x in itertools.islice(values, 1000)]
                if all(abs(x) <= PLOTTABLE for x in series):  # also False for nan
                    self.curves[label] = series

        return record

    @pytest.fixture(scope="session")
    def seed_for(self) -> Callable[[str], int]:
        """Deterministic seed for a label, derived from the suite seed."""

        def derive(label: str) -> int:
            digest = hashlib.sha256(f"{self._seed}:{label}".encode()).digest()
            return int.from_bytes(digest[:8], "little")

        return derive

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            marker = item.get_closest_marker("graded")
            if marker is None or not marker.args or marker.args[0] not in self._config.functions:
                raise pytest.UsageError(f"{item.nodeid} lacks @pytest.mark.graded(function)")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """The suite is collected: start the substitution worker if a test will call it
        (its import then overlaps the other worker's and the first tests), then wait for
        the submission's import."""
        if any(item.get_closest_marker("substitution") for item in session.items):
            self._student.prelaunch_substitute()
        self._on_collected()

    def _proxies(self) -> list[StudentProxy]:
        return [self._student, self._student.substituted]

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        for proxy in self._proxies():
            proxy.last_call = CallRecord()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {report.longreprtext[-2000:]}")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and report.failed):
            self.outcomes.append(self._outcome(item, call))

    def _outcome(self, item: pytest.Item, call: pytest.CallInfo) -> Outcome:
        marker = item.get_closest_marker("graded")
        result = Outcome(test_id=item.nodeid, name=_readable_name(item),
                         function=marker.args[0], weight=float(marker.kwargs.get("weight", 1)),
                         passed=call.excinfo is None)
        if call.excinfo is None:
            return result
        error = call.excinfo.value
        if isinstance(error, Failure):
            result.message = str(error)
        elif isinstance(error, StudentRaised) and self._hidden_inputs:
            result.message = _first_line(error).student_message()
        elif isinstance(error, StudentCodeProblem):
            result.message = error.student_message()
        elif type(error) is AssertionError:
            result.message = str(error).split("\nassert ")[0].strip()
        else:
            result.message = GRADER_ERROR
            result.grader_error = "".join(traceback.format_exception(error))[-4000:]
        output = "".join(proxy.last_call.output for proxy in self._proxies())
        if self._hidden_inputs and output.strip():
            result.message += HIDDEN_OUTPUT_NOTE.format(count=len(output))
        elif not self._hidden_inputs:
            result.output = output
        return result


def _first_line(error: StudentRaised) -> StudentRaised:
    """The student's exception with only the first line (at most 200 characters) of its
    message, every number of four or more digits shown as ``#`` there, in the exception's
    type name and in the traceback (whose source lines the submission can fake): enough to
    recognise the error (``shapes (3,4) and (5,6) not aligned``), too little to dump a
    test's random inputs or generator states."""
    return StudentRaised(error.function, without_long_numbers(error.type_name[:80]),
                         quoted(error.message), without_long_numbers(error.student_traceback))

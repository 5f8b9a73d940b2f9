"""Exceptions that carry student-facing messages from the grader to the feedback.

Only these messages (and the student's own traceback lines) ever reach feedback:
the pytest plugin never shows test source, so hidden inputs and reference code stay hidden.
"""

from __future__ import annotations

from autograder.selfcheck.messages import (
    Failure,  # noqa: F401 - the failure type of every suite, shared with the student bundle
    crashed_message,
    raised_message,
    timeout_message,
    unsendable_message,
)


class StudentCodeProblem(Exception):
    """Base class for problems inside the student's code, reported to the student as they are."""

    def student_message(self) -> str:
        """The explanation shown in feedback."""
        return str(self)


class StudentRaised(StudentCodeProblem):
    """The student's function raised an exception inside the worker."""

    def __init__(self, function: str, type_name: str, message: str, student_traceback: str):
        self.function = function
        self.type_name = type_name
        self.message = message
        self.student_traceback = student_traceback
        super().__init__(self.student_message())

    def student_message(self) -> str:
        return raised_message(self.function, self.type_name, self.message,
                              self.student_traceback)


class StudentTimeout(StudentCodeProblem):
    """A call into student code ran past its wall-clock limit and the worker was killed."""

    def __init__(self, function: str, seconds: float):
        self.function = function
        self.seconds = seconds
        super().__init__(timeout_message(function, seconds))


class StudentCrashed(StudentCodeProblem):
    """The worker process running student code died (crash, exit, or a resource limit)."""

    def __init__(self, function: str, reason: str):
        self.function = function
        self.reason = reason
        super().__init__(crashed_message(function, reason))


class StudentUnsendable(StudentCodeProblem):
    """A call's result is one the grader refuses to receive (too deep, too many plain values
    or arrays, too large); the worker is still running."""

    def __init__(self, function: str, reason: str):
        self.function = function
        self.reason = reason
        super().__init__(unsendable_message(function, reason))


class SubmissionUnusable(StudentCodeProblem):
    """The submission cannot be loaded at all (missing file, syntax error, bad notebook...)."""

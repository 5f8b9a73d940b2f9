"""Exceptions that carry student-facing messages from the grader to the feedback.

Only these messages (and the student's own traceback lines) ever reach feedback:
the pytest plugin never shows test source, so hidden inputs and reference code stay hidden.
"""

from __future__ import annotations


class Failure(AssertionError):
    """A graded check failed; ``str(self)`` is written for the student."""


def _subject(function: str) -> str:
    """``dropout`` becomes "`dropout`"; "importing your submission" becomes "Importing ..."."""
    return f"`{function}`" if function.isidentifier() else function[:1].upper() + function[1:]


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
        if self.type_name == "NotImplementedError":
            return f"{_subject(self.function)} is not implemented yet (it raises " \
                   "NotImplementedError)."
        text = f"{_subject(self.function)} raised {self.type_name}: {self.message}"
        if self.student_traceback:
            text += "\nWhere it happened in your code:\n" + self.student_traceback
        return text


class StudentTimeout(StudentCodeProblem):
    """A call into student code ran past its wall-clock limit and the worker was killed."""

    def __init__(self, function: str, seconds: float):
        self.function = function
        self.seconds = seconds
        super().__init__(
            f"{_subject(function)} did not finish within {seconds:g} s and was stopped. Look "
            "for an endless loop, or a loop over single elements where a vectorised numpy "
            "operation would do."
        )


class StudentCrashed(StudentCodeProblem):
    """The worker process running student code died (crash, exit, or a resource limit)."""

    def __init__(self, function: str, reason: str):
        self.function = function
        self.reason = reason
        action = f"running `{function}`" if function.isidentifier() else function
        super().__init__(f"While {action}, your code stopped the grading process: {reason}")


class SubmissionUnusable(StudentCodeProblem):
    """The submission cannot be loaded at all (missing file, syntax error, bad notebook...)."""

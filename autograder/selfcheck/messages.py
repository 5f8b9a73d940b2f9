"""The exception that carries a student-facing message out of a check."""

from __future__ import annotations

import re


class Failure(AssertionError):
    """A check failed; ``str(self)`` is written for the student."""


_LONG_NUMBER = re.compile(r"[-+]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def without_long_numbers(text: str) -> str:
    """``text`` with every number of four or more digits written as ``#``."""
    return _LONG_NUMBER.sub(
        lambda m: "#" if sum(c.isdigit() for c in m.group()) >= 4 else m.group(), text)


def quoted(text: str, limit: int = 200) -> str:
    """Text the student's code chose (an exception's message, a type's name) as a check
    quotes it back: its first line, at most ``limit`` characters, numbers of four or more
    digits as ``#``. Enough to recognise it; too little to carry a hidden test's inputs or
    generator states out through the feedback."""
    lines = text.splitlines() or [""]
    short = lines[0][:limit] + (" [...]" if len(lines) > 1 or len(lines[0]) > limit else "")
    return without_long_numbers(short)


def subject(function: str) -> str:
    """``f`` becomes "`f`"; "importing your submission" becomes "Importing ..."."""
    return f"`{function}`" if function.isidentifier() else function[:1].upper() + function[1:]


_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def in_words(count: int) -> str:
    """``count`` as a student reads it in a sentence: "three", or "12" past nine."""
    return _NUMBERS[count] if 0 <= count < len(_NUMBERS) else str(count)


def raised_message(function: str, type_name: str, message: str, student_traceback: str) -> str:
    """What a student reads when their ``function`` raised ``type_name``."""
    if type_name == "NotImplementedError":
        return f"{subject(function)} is not implemented yet (it raises NotImplementedError)."
    text = f"{subject(function)} raised {type_name}: {message}"
    if student_traceback:
        text += "\nWhere it happened in your code:\n" + student_traceback
    return text


def timeout_message(function: str, seconds: float) -> str:
    """What a student reads when a call into their code was stopped after ``seconds``."""
    return (f"{subject(function)} did not finish within {seconds:g} s and was stopped. Look "
            "for an endless loop, or a loop over single elements where a vectorised numpy "
            "operation would do.")


def crashed_message(function: str, reason: str) -> str:
    """What a student reads when their code stopped the process that ran it."""
    action = f"running `{function}`" if function.isidentifier() else function
    return f"While {action}, your code stopped the grading process: {reason}"


def unsendable_message(function: str, reason: str) -> str:
    """What a student reads when their ``function`` returned a result the grader refuses."""
    return f"{subject(function)} returned a result the grader could not receive: {reason}."

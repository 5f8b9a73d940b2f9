"""Checks on values returned by student code, made in the trusted process before any comparison.

Each function returns a plain, safe value or raises :class:`~autograder.sandbox.errors.Failure`
with a message that says what was expected and what came back. They are the functions of
:mod:`autograder.selfcheck.validate` (numpy only, shipped in the student bundle too), so
the public checks and the hidden suite validate alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from autograder.sandbox.errors import Failure
from autograder.selfcheck.validate import (
    array,
    describe,
    float_values,
    mapping,
    number,
    pair,
    python_float,
    sequence,
)

__all__ = ["array", "describe", "float_values", "mapping", "number", "pair", "python_float",
           "sequence", "well_formed_first"]


@contextlib.contextmanager
def well_formed_first() -> Iterator[None]:
    """Gate of a check on what a call did besides its result (an argument modified, a
    generator advanced): the check earns credit only when the same call also returned a
    well-formed result, and a :class:`Failure` of the validation inside says so, so the
    student reads why the check was not earned rather than a bare shape message."""
    try:
        yield
    except Failure as failure:
        raise Failure("This check counts only when the same call returns a well-formed "
                      f"result, and it did not: {failure}") from None

"""Checks on values returned by student code, made in the trusted process before any comparison.

Each function returns a plain, safe value or raises :class:`~autograder.sandbox.errors.Failure`
with a message that says what was expected and what came back. They are the functions of
:mod:`autograder.selfcheck.validate` (numpy only, shipped in the student bundle too), so
the public checks and the hidden suite validate alike.
"""

from __future__ import annotations

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
           "sequence"]

"""Comparison helpers for the suites: each failure is a student-facing message.

Messages give counts, the largest difference and one example position, never a whole
hidden input or reference output.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from autograder.errors import Failure, StudentRaised
from autograder.selfcheck.compare import names_number

__all__ = ["close", "expect_raises", "names_number"]


def close(
    actual: np.ndarray | float,
    expected: np.ndarray | float,
    what: str,
    *,
    rtol: float = 1e-7,
    atol: float = 1e-9,
    hint: str = "",
) -> None:
    """Fail unless ``actual`` matches ``expected`` within tolerances that any correct
    float arithmetic (loops, einsum, @) meets."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        raise Failure(_with_hint(f"{what} should have shape {e.shape}, but it has shape "
                                 f"{a.shape}.", hint))
    bad = ~np.isclose(a, e, rtol=rtol, atol=atol)
    if not bad.any():
        return
    if a.ndim == 0:
        message = f"{what} is {a.item():.6g}, which is not the expected value."
    else:
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        message = (f"{what} differs from the expected values in {int(bad.sum())} of {a.size} "
                   f"entries (largest difference {float(np.max(np.abs(a - e))):.3g}; first at "
                   f"index {first}: got {a[first]:.6g}).")
    raise Failure(_with_hint(message, hint))


def _with_hint(message: str, hint: str) -> str:
    return f"{message}\nLikely cause: {hint}" if hint else message


@dataclass
class RaisedInfo:
    """What ``expect_raises`` caught: ``value`` is the StudentRaised exception."""

    value: StudentRaised | None = None


@contextlib.contextmanager
def expect_raises(type_name: str, what: str) -> Iterator[RaisedInfo]:
    """Expect the student's code to raise ``type_name`` (e.g. "ValueError") inside the block."""
    info = RaisedInfo()
    try:
        yield info
    except StudentRaised as raised:
        if raised.type_name != type_name:
            raise Failure(f"{what} should raise {type_name}, but it raised {raised.type_name}: "
                          f"{raised.message}") from None
        info.value = raised
        return
    raise Failure(f"{what} should raise {type_name}, but it returned normally.")

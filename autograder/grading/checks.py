"""Comparison helpers for the suites: each failure is a student-facing message.

Messages give counts, the largest difference and one example position, never a whole
hidden input or reference output. The helpers are those of
:mod:`autograder.selfcheck.compare`, which the student bundle ships as well, so a public
check and a hidden test word the same mismatch the same way.
"""

from __future__ import annotations

from autograder.selfcheck.compare import RaisedInfo, close, expect_raises, names_number

__all__ = ["RaisedInfo", "close", "expect_raises", "names_number"]

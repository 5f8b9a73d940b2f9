"""The ``expected`` fixture of the softmax public suite: what the public checks compare with.

The kit computes it from the reference on the public inputs (the student bundle reads the
same data from its ``expectations.npz``), in the trusted grader process.
"""

from __future__ import annotations

import pytest

from assignments.softmax.grader import expectations


@pytest.fixture(scope="session")
def expected() -> dict:
    """Expected values and the results of the usual mistakes for every public check."""
    return expectations.build()

"""Fixtures shared by the hidden suites.

``reference`` is the reference solution, imported in the trusted grader process by
:meth:`autograder.assignment.Assignment.load_reference` (under a name of its own, never
``regularization``); the suites compare every submission with it. It never enters a
sandbox.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from assignments.regularization.grader import data


@pytest.fixture(scope="session")
def reference(config) -> ModuleType:
    """The reference solution module (``l2_regularization``, ``dropout``, ``train_mlp``)."""
    return config.assignment.load_reference()


@pytest.fixture(scope="session")
def nn_helpers() -> ModuleType:
    """The students' helper module (``init_params``, ``accuracy``), as the reference uses it."""
    return data.helpers()

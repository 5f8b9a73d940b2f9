"""Fixtures of the softmax hidden suite: the reference, in the trusted process only."""

from __future__ import annotations

from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def reference(config) -> ModuleType:
    """The reference solution module."""
    return config.assignment.load_reference()

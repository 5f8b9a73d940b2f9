"""Fixtures shared by the hidden suites.

``reference`` is the reference solution, imported in the trusted grader process under a
name of its own (so it can never be confused with a submission's ``regularization``).
The suites compare every submission with it; it never enters a sandbox.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference" / "regularization.py"
HELPERS_DIR = ROOT / "assignments" / "regularization"


def load_reference() -> ModuleType:
    """Import ``reference/regularization.py`` as ``_grader_reference_regularization``.

    The reference imports ``relu`` and ``softmax`` from the students' ``nn_helpers``,
    so that directory goes on ``sys.path`` first.
    """
    if str(HELPERS_DIR) not in sys.path:
        sys.path.insert(0, str(HELPERS_DIR))
    spec = importlib.util.spec_from_file_location("_grader_reference_regularization", REFERENCE)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the reference solution from {REFERENCE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def reference() -> ModuleType:
    """The reference solution module (``l2_regularization``, ``dropout``, ``train_mlp``)."""
    return load_reference()


@pytest.fixture(scope="session")
def nn_helpers() -> ModuleType:
    """The students' helper module (``init_params``, ``accuracy``...), loaded with the reference."""
    load_reference()
    import nn_helpers

    return nn_helpers

"""Loads the reference solution into the trusted grader process (never into a sandbox)."""

from __future__ import annotations

import functools
import importlib.util
from types import ModuleType

from autograder import data
from autograder.paths import REFERENCE_FILE


@functools.cache
def load() -> ModuleType:
    """Import ``reference/regularization.py`` under the name ``reference_regularization``.

    Its ``nn_helpers`` import resolves to the kit's own helpers file (see
    :func:`autograder.data.helpers`).
    """
    data.helpers()
    spec = importlib.util.spec_from_file_location("reference_regularization", REFERENCE_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

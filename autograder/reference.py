"""Loads the reference solution into the trusted grader process (never into a sandbox)."""

from __future__ import annotations

import functools
import importlib.util
import sys
from types import ModuleType

from autograder.paths import ASSIGNMENT_DIR, REFERENCE_FILE


@functools.cache
def load() -> ModuleType:
    """Import ``reference/regularization.py`` under the name ``reference_regularization``."""
    if str(ASSIGNMENT_DIR) not in sys.path:
        sys.path.append(str(ASSIGNMENT_DIR))
    spec = importlib.util.spec_from_file_location("reference_regularization", REFERENCE_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

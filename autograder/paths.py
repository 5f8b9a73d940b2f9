"""Where the engine's own files live, resolved from this package's location in the checkout.

Everything of an assignment (stub, notebook, helpers, reference, suites) is declared in its
own folder instead: see :mod:`autograder.assignment`.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
SANDBOX_DIR = PACKAGE_DIR / "sandbox"  # holds the files a worker runs from
DEFAULT_CONFIG = PROJECT_DIR / "grader_config.py"

"""Where the kit's files live, resolved from this package's location in the checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
SANDBOX_DIR = PACKAGE_DIR / "sandbox"  # holds the files a worker runs from
ASSIGNMENT_DIR = PROJECT_DIR / "assignments" / "regularization"
STUB_FILE = ASSIGNMENT_DIR / "regularization.py"
NOTEBOOK_FILE = ASSIGNMENT_DIR / "regularization.ipynb"
HELPERS_FILE = ASSIGNMENT_DIR / "nn_helpers.py"
REFERENCE_FILE = PROJECT_DIR / "reference" / "regularization.py"
PUBLIC_SUITE = PROJECT_DIR / "tests" / "public"
HIDDEN_SUITE = PROJECT_DIR / "tests" / "hidden"
DEFAULT_CONFIG = PROJECT_DIR / "grader_config.py"
SAMPLE_CLASS = PROJECT_DIR / "samples" / "class"

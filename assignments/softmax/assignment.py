"""The softmax assignment as the engine sees it (see :mod:`autograder.assignment`).

Students write ``softmax``, ``cross_entropy`` and ``train_softmax`` in ``softmax.py``;
``train_softmax`` is graded with known-good versions of the other two in place, and the
hidden suite trains it on scikit-learn's bundled digits.
"""

from __future__ import annotations

from pathlib import Path

from assignments.softmax.grader import data

HERE = Path(__file__).resolve().parent

MODULE = "softmax"
FUNCTIONS = ("softmax", "cross_entropy", "train_softmax")
REFERENCE = HERE / "grader" / "reference.py"
HELPERS = ()
STUB = HERE / "softmax.py"
NOTEBOOK = HERE / "softmax.ipynb"
SPEC = HERE / "SPEC.md"  # the specification: contract text, public by design
# The student bundle of ``autograder release``: the files it ships as they are (beside the
# stub and the notebook) and the expected values of its public checks.
RELEASE_FILES = (SPEC, HERE / "release" / "README.md", HERE / "release" / "check.py")
HIDDEN_SUITE = HERE / "tests" / "hidden"
PUBLIC_SUITE = HERE / "tests" / "public"
SUBSTITUTES = HERE / "grader" / "known_good.py"
SUBSTITUTED = ("softmax", "cross_entropy")
MISTAKES = HERE / "grader" / "mistakes.py"
ENGINE_MUST_NOT_NAME = ("load_digits", "DIGITS_")

_SETTINGS = ("DIGITS_SPLIT_SEED", "DIGITS_TEST_FRACTION", "DIGITS_TRAINING",
             "DIGITS_MIN_ACCURACY")


def check_config(values: dict) -> tuple[str, str] | None:
    """The digits settings of the assignment's grader_config.py."""
    for name in _SETTINGS:
        if name not in values:
            return name, "is missing"
    if not 0 < values["DIGITS_TEST_FRACTION"] < 1:
        return "DIGITS_TEST_FRACTION", "must be between 0 and 1"
    if not 0 <= values["DIGITS_MIN_ACCURACY"] <= 1:
        return "DIGITS_MIN_ACCURACY", "must be between 0 and 1"
    return None


def build_expectations() -> dict:
    """The public checks' expected values, as plain data for the bundle's expectations.npz."""
    from assignments.softmax.grader import expectations

    return expectations.build()


load_data = data.load
save_data = data.save
load_saved_data = data.load_saved

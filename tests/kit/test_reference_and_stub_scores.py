"""The two fixed points of the grading: the reference scores full marks on both suites, and
the untouched stubs (the file and the notebook students get) score nothing.

The sample class's stub student must be the real stub, so the bundled class shows what a
student who hands in nothing gets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assignments.regularization.assignment import HIDDEN_SUITE, PUBLIC_SUITE
from assignments.regularization.assignment import NOTEBOOK as NOTEBOOK_FILE
from assignments.regularization.assignment import REFERENCE as REFERENCE_FILE
from assignments.regularization.assignment import SAMPLES as SAMPLE_CLASS
from assignments.regularization.assignment import STUB as STUB_FILE
from assignments.regularization.grader import data
from autograder import config as config_module
from autograder.grading.grade import grade
from autograder.sandbox import launch as sandbox

CONFIG = config_module.load()
SUITES = {"public": (PUBLIC_SUITE, CONFIG.PUBLIC_SEED),
          "hidden": (HIDDEN_SUITE, CONFIG.HIDDEN_SEED)}


def _grade(path: Path, suite: str):
    folder, seed = SUITES[suite]
    return grade(path.stem, path, folder, CONFIG, seed=seed, slot=0, mode=sandbox.isolation(),
                 data_loader=lambda: data.load_split(CONFIG))


@pytest.mark.parametrize("suite", list(SUITES))
def test_reference_scores_full_marks(suite: str) -> None:
    result = _grade(REFERENCE_FILE, suite)
    failed = [f"{t.outcome.name}: {t.outcome.message}" for t in result.tests
              if not t.outcome.passed]
    assert failed == [] and result.error == ""
    assert result.score == pytest.approx(CONFIG.max_score)
    assert {t.outcome.function for t in result.tests} == set(CONFIG.POINTS)


@pytest.mark.parametrize("suite", list(SUITES))
@pytest.mark.parametrize("stub", [STUB_FILE, NOTEBOOK_FILE], ids=["py", "ipynb"])
def test_untouched_stub_scores_zero(suite: str, stub: Path) -> None:
    result = _grade(stub, suite)
    assert result.error == "" and result.tests
    assert result.score == 0
    assert all("not implemented yet" in t.outcome.message
               or "raised NotImplementedError" in t.outcome.message for t in result.tests)


def test_sample_class_stub_student_is_the_real_stub() -> None:
    assert (SAMPLE_CLASS / "alan_turing.py").read_bytes() == STUB_FILE.read_bytes()

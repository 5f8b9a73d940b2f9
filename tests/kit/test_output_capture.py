"""What student code prints reaches the feedback, capped and marked when cut.

Prints at import time go to the submission's output log, prints during a call to that
call's record, and a flood keeps only the configured amount with a note saying so.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from autograder import config
from autograder.assignment import load as load_assignment
from autograder.grading.submission import stage
from autograder.sandbox.proxy import StudentProxy

ASSIGNMENT = load_assignment("regularization")

SOURCE = textwrap.dedent('''
    import sys
    print("hello from import time")

    def l2_regularization(weights, lambda_):
        print("inside l2")
        return 0.0, []

    def dropout(A, p, training=True, rng=None):
        sys.stdout.write("x" * 200_000)
        return A, None

    def train_mlp(params, X, Y, **settings):
        return params, {"loss": []}
''')


@pytest.fixture
def student(tmp_path: Path):
    path = tmp_path / "printer.py"
    path.write_text(SOURCE)
    staged = stage("printer", path, tmp_path / "stage", ASSIGNMENT)
    proxy = StudentProxy(staged.stage, config.load())
    yield proxy
    proxy.close()


def test_import_time_output_is_kept(student: StudentProxy) -> None:
    student.load_report()
    assert "hello from import time" in student.output.text()


def test_output_of_a_call_is_recorded_with_the_call(student: StudentProxy) -> None:
    student.l2_regularization([], 0.1)
    assert student.last_call.function == "l2_regularization"
    assert student.last_call.output.strip() == "inside l2"


def test_a_flood_of_output_is_cut_and_marked(student: StudentProxy) -> None:
    student.dropout(np.ones((2, 2)), 0.5, False)
    output = student.last_call.output
    assert len(output) < config.load().OUTPUT_LIMIT_KB * 1024 + 100
    assert output.endswith("more characters of output not kept]")

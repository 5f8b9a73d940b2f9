"""Public tests of the softmax assignment: small fixed inputs, run them as often as you like.

Expected values come from the reference, computed in the trusted grader process.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.grading import validate
from autograder.grading.checks import close

Z = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]])
Y = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, -1.0]])
Y4 = np.eye(3)[[0, 1, 2, 0]]


@pytest.fixture(scope="session")
def reference(config):
    return config.assignment.load_reference()


@pytest.mark.graded("softmax")
def test_softmax_of_a_small_matrix(student, reference):
    close(validate.array(student.softmax(Z.copy()), "softmax(Z)", Z.shape),
          reference.softmax(Z), "softmax(Z)")


@pytest.mark.graded("cross_entropy")
def test_cross_entropy_of_a_small_batch(student, reference):
    P = reference.softmax(Z)
    close(validate.python_float(student.cross_entropy(P, Y), "cross_entropy(P, Y)"),
          reference.cross_entropy(P, Y), "cross_entropy(P, Y)")


@pytest.mark.graded("train_softmax")
def test_two_epochs_on_four_points(student, reference):
    result = student.substituted.call("train_softmax", args=(X, Y4),
                                      kwargs={"lr": 0.5, "epochs": 2})
    params, losses = validate.pair(result, "train_softmax(...)")
    expected, expected_losses = reference.train_softmax(X, Y4, lr=0.5, epochs=2)
    params = validate.mapping(params, "the parameters", ("W", "b"))
    close(validate.array(params["W"], 'params["W"]', (2, 3)), expected["W"], "the trained W")
    close(validate.float_values(losses, "the losses", 2), expected_losses, "the losses")

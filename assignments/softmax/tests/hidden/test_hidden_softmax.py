"""Hidden tests of the softmax assignment: the reference on unseen inputs, properties of
every correct solution, and test accuracy on scikit-learn's digits.

``train_softmax`` is called through ``student.substituted``: there the submission's own
``softmax`` and ``cross_entropy`` are replaced by known-good versions, so a mistake in
them costs points there only. After a mismatch the mistake catalogue
(:mod:`assignments.softmax.grader.mistakes`) names the likely cause.
"""

from __future__ import annotations

import numpy as np
import pytest

from assignments.softmax.grader import mistakes
from autograder.grading import validate
from autograder.grading.checks import close
from autograder.sandbox.errors import Failure


def _scores(seed_for, label: str, shape=(7, 5), scale=3.0) -> np.ndarray:
    return np.random.default_rng(seed_for(label)).normal(0.0, scale, shape)


def _likely(cause: str) -> str:
    """The hint for :func:`close` (which writes "Likely cause: " before it)."""
    return cause


def _problem(seed_for, label: str, n=23, d=6, k=4):
    rng = np.random.default_rng(seed_for(label))
    X = rng.normal(0.0, 1.0, (n, d))
    Y = np.eye(k)[rng.integers(0, k, n)]
    return X, Y


@pytest.mark.graded("softmax", weight=3)
def test_softmax_matches_the_reference(student, reference, seed_for):
    Z = _scores(seed_for, "softmax")
    P = student.softmax(Z.copy())
    values = validate.array(P, "softmax(Z)", Z.shape)
    close(values, reference.softmax(Z), "softmax(Z)", hint=_likely(mistakes.softmax_cause(Z, P)))


@pytest.mark.graded("softmax", weight=1)
def test_softmax_rows_sum_to_one(student, seed_for):
    Z = _scores(seed_for, "rows", (9, 3))
    P = validate.array(student.softmax(Z.copy()), "softmax(Z)", Z.shape)
    close(P.sum(axis=1), np.ones(9), "the row sums of softmax(Z)",
          hint=_likely(mistakes.softmax_cause(Z, P)))


@pytest.mark.graded("softmax", weight=1)
def test_softmax_of_large_scores_stays_finite(student, reference, seed_for):
    Z = _scores(seed_for, "large", (4, 6), scale=1.0) + 1000.0
    P = student.softmax(Z.copy())
    if isinstance(P, np.ndarray) and P.shape == Z.shape and not np.all(np.isfinite(P)):
        raise Failure("softmax(Z) of scores near 1000 holds inf or nan.\nLikely cause: "
                      + mistakes.overflow_cause(P))
    close(validate.array(P, "softmax(Z)", Z.shape), reference.softmax(Z), "softmax(Z + 1000)")


@pytest.mark.graded("cross_entropy", weight=3)
def test_cross_entropy_matches_the_reference(student, reference, seed_for):
    X, Y = _problem(seed_for, "cross")
    P = reference.softmax(X[:, :4])
    value = student.cross_entropy(P.copy(), Y.copy())
    number = validate.number(value, "cross_entropy(P, Y)")
    close(number, reference.cross_entropy(P, Y), "cross_entropy(P, Y)",
          hint=_likely(mistakes.cross_entropy_cause(P, Y, value)))


@pytest.mark.graded("cross_entropy", weight=1)
def test_cross_entropy_is_a_python_float(student, reference, seed_for):
    X, Y = _problem(seed_for, "float")
    P = reference.softmax(X[:, :4])
    validate.python_float(student.cross_entropy(P, Y), "cross_entropy(P, Y)")


def _trained(student, X, Y, settings):
    result = student.substituted.call("train_softmax", args=(X, Y), kwargs=settings)
    params, losses = validate.pair(result, "train_softmax(...)")
    params = validate.mapping(params, "the parameters train_softmax returns", ("W", "b"))
    return params, losses


@pytest.mark.graded("train_softmax", weight=3)
def test_training_matches_the_reference(student, reference, seed_for):
    X, Y = _problem(seed_for, "train")
    settings = {"lr": 0.3, "epochs": 7}
    params, _ = _trained(student, X, Y, settings)
    expected, _ = reference.train_softmax(X, Y, **settings)
    hint = _likely(mistakes.train_cause(X, Y, settings, params))
    for name in ("W", "b"):
        close(validate.array(params[name], f'params["{name}"]', expected[name].shape),
              expected[name], f'the trained {name}', hint=hint)


@pytest.mark.graded("train_softmax", weight=1)
def test_training_records_one_loss_per_epoch(student, reference, seed_for):
    X, Y = _problem(seed_for, "losses")
    settings = {"lr": 0.3, "epochs": 5}
    _, losses = _trained(student, X, Y, settings)
    _, expected = reference.train_softmax(X, Y, **settings)
    close(validate.float_values(losses, "the losses", 5), expected, "the list of losses")


@pytest.mark.graded("train_softmax", weight=2)
def test_training_learns_the_digits(student, data, config):
    settings = dict(config.DIGITS_TRAINING)
    result = student.substituted.call("train_softmax", args=(data["X_train"], data["Y_train"]),
                                      kwargs=settings, timeout=config.TRAINING_TIMEOUT_S)
    params, losses = validate.pair(result, "train_softmax(...)")
    params = validate.mapping(params, "the parameters train_softmax returns", ("W", "b"))
    W = validate.array(params["W"], 'params["W"]', (64, 10))
    b = validate.array(params["b"], 'params["b"]', (1, 10))
    accuracy = float(np.mean(np.argmax(data["X_test"] @ W + b, axis=1) == data["y_test"]))
    if accuracy < config.DIGITS_MIN_ACCURACY:
        raise Failure(f"Trained on the digits with {settings}, your train_softmax reaches "
                      f"{accuracy:.1%} test accuracy; a correct one reaches at least "
                      f"{config.DIGITS_MIN_ACCURACY:.0%}.")

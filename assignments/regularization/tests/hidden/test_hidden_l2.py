"""Hidden tests of ``l2_regularization``: the reference on unseen inputs, plus properties.

Inputs come from generators seeded with ``seed_for(<test name>)``, so they differ from
the public ones and from one grading configuration to another.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from assignments.regularization.grader import diagnose
from autograder.grading import validate
from autograder.grading.checks import close
from autograder.sandbox.errors import Failure

SHAPES = [(7, 3), (1, 9), (5, 1), (4, 4)]


def weights_for(seed: int, shapes: list[tuple[int, int]], dtype: type = np.float64) -> list:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


def l2_result(result: object, n_weights: int) -> tuple[float, list]:
    """Unpack ``(penalty, grads)`` strictly: a Python float and a list of ``n_weights``
    items (the type test)."""
    penalty, grads = validate.pair(result, "The result of l2_regularization (penalty, grads)")
    penalty = validate.python_float(penalty, "The penalty")
    if isinstance(grads, np.ndarray):
        raise Failure("grads should be a list with one gradient array per weight matrix, but "
                      "your code returned a single numpy array.")
    return penalty, validate.sequence(grads, "grads", n_weights)


def l2_values(result: object, weights: list) -> tuple[float, list[np.ndarray]]:
    """Unpack ``(penalty, grads)`` for the value checks: the penalty is converted to a float
    whatever holds it (a numpy scalar, a one-element array), so a wrong type costs only the
    type test; every gradient must be an array of its matrix's shape."""
    penalty, grads = validate.pair(result, "The result of l2_regularization (penalty, grads)")
    penalty = validate.number(penalty, "The penalty")
    if isinstance(grads, np.ndarray) and len(weights) != 1:
        raise Failure("grads should be a list with one gradient array per weight matrix, but "
                      "your code returned a single numpy array.")
    grads = validate.sequence(grads, "grads", len(weights))
    return penalty, [validate.array(g, f"grads[{k}]", W.shape)
                     for k, (g, W) in enumerate(zip(grads, weights, strict=True))]


def computes(student, weights: list, lam: float, result: object = None) -> None:
    """Gate of the checks that a function doing nothing passes (types, dtypes, lambda_=0,
    an empty list, nothing modified): they earn credit only when the function computes
    something from the weights. ``result`` (of ``weights`` and ``lam``, a positive
    lambda_; called here when None) must hold a non-zero penalty or gradient, and the same
    call with every weight doubled must give another penalty or gradient (a placeholder
    such as ``lambda_ * len(weights)`` does not). Nothing else is asked here: a wrong
    value, shape or order costs the value tests, not these."""
    result = student.l2_regularization(weights, lam) if result is None else result
    penalty, grads = _gate_values(result)
    if not penalty and not any(np.any(grad) for grad in grads):
        raise Failure("This check counts only when l2_regularization computes something, and "
                      "with lambda_ > 0 and non-zero weights yours returned a zero penalty and "
                      "no non-zero gradient.")
    doubled, doubled_grads = _gate_values(student.l2_regularization([2 * W for W in weights],
                                                                    lam))
    if doubled == penalty and len(doubled_grads) == len(grads) and all(
            np.array_equal(a, b) for a, b in zip(grads, doubled_grads, strict=True)):
        raise Failure("This check counts only when l2_regularization computes something from "
                      "the weights, and yours returned the same penalty and gradients when "
                      "every weight was doubled.")


def _gate_values(result: object) -> tuple[float | None, list[np.ndarray]]:
    """The penalty (None when it is not a number) and the gradient arrays of a result,
    leniently: the gate asks only whether anything was computed."""
    value, grads = validate.pair(result, "The result of l2_regularization (penalty, grads)")
    penalty = None
    with contextlib.suppress(Failure):
        penalty = validate.number(value, "The penalty")
    if not isinstance(grads, list | tuple):
        return penalty, []
    return penalty, [grad for grad in grads
                     if isinstance(grad, np.ndarray) and grad.dtype.kind in "iuf"]


def check_against_reference(student, reference, weights: list, lam: float, label: str,
                            rtol: float = 1e-7) -> None:
    """Compare penalty and every gradient (values, shape, dtype) with the reference."""
    penalty, grads = l2_values(student.l2_regularization(weights, lam), weights)
    expected_penalty, expected_grads = reference.l2_regularization(weights, lam)
    diagnose.close_or_explain(
        penalty, expected_penalty, f"The penalty {label}",
        lambda: diagnose.l2_penalty_cause(weights, lam, penalty), rtol=rtol)
    for k, (W, expected) in enumerate(zip(weights, expected_grads, strict=True)):
        grad = grads[k]
        diagnose.close_or_explain(
            grad, expected, f"grads[{k}] {label}",
            lambda W=W, grad=grad: diagnose.l2_gradient_cause(W, lam, grad), rtol=rtol)


@pytest.mark.rule("l2.penalty_value", "l2.gradient_values", "l2.gradient_order")
@pytest.mark.graded("l2_regularization", weight=3)
def test_penalty_and_gradients_match_on_several_matrices(student, reference, seed_for):
    weights = weights_for(seed_for("l2-several"), SHAPES)
    check_against_reference(student, reference, weights, 0.037, "for four matrices")


@pytest.mark.rule("l2.penalty_value", "l2.gradient_values")
@pytest.mark.graded("l2_regularization", weight=2)
def test_penalty_and_gradients_match_for_a_single_matrix(student, reference, seed_for):
    weights = weights_for(seed_for("l2-single"), [(6, 5)])
    check_against_reference(student, reference, weights, 0.2, "for one matrix")


@pytest.mark.rule("l2.penalty_value", "l2.gradient_values")
@pytest.mark.graded("l2_regularization", weight=1)
def test_penalty_and_gradients_match_with_a_large_lambda(student, reference, seed_for):
    weights = weights_for(seed_for("l2-large-lambda"), [(3, 8), (8, 2)])
    check_against_reference(student, reference, weights, 250.0, "with a large lambda_")


@pytest.mark.rule("l2.lambda_zero")
@pytest.mark.graded("l2_regularization", weight=1)
def test_lambda_zero_gives_zero_penalty_and_zero_gradients(student, seed_for):
    weights = weights_for(seed_for("l2-zero"), [(4, 3), (3, 2)])
    computes(student, weights, 0.1)
    penalty, grads = l2_values(student.l2_regularization(weights, 0.0), weights)
    close(penalty, 0.0, "The penalty with lambda_=0")
    for k, W in enumerate(weights):
        close(grads[k], np.zeros_like(W), f"grads[{k}] with lambda_=0")


@pytest.mark.rule("l2.gradient_dtype")
@pytest.mark.graded("l2_regularization", weight=1)
def test_float32_weights_give_float32_gradients(student, seed_for):
    weights = weights_for(seed_for("l2-float32"), [(5, 4), (4, 3)], np.float32)
    result = student.l2_regularization(weights, 0.05)
    computes(student, weights, 0.05, result)
    _, grads = l2_values(result, weights)
    for k, W in enumerate(weights):
        if grads[k].dtype != W.dtype:
            raise Failure(f"grads[{k}] should have the dtype of weights[{k}] (float32 here), but "
                          f"it is {grads[k].dtype}. Multiplying a float32 array by a Python "
                          "float keeps float32; np.array(..., dtype=float) or similar does not.")


@pytest.mark.rule("l2.penalty_value", "l2.gradient_values")
@pytest.mark.graded("l2_regularization", weight=1)
def test_penalty_and_gradients_match_for_float32_weights(student, reference, seed_for):
    weights = weights_for(seed_for("l2-float32"), [(5, 4), (4, 3)], np.float32)
    check_against_reference(student, reference, weights, 0.05, "for float32 weights", rtol=1e-5)


@pytest.mark.rule("l2.penalty_is_python_float", "l2.grads_is_list")
@pytest.mark.graded("l2_regularization", weight=1)
def test_penalty_is_a_python_float_and_grads_a_list(student, seed_for):
    weights = weights_for(seed_for("l2-types"), [(2, 3)])
    result = student.l2_regularization(weights, 0.1)
    l2_result(result, 1)
    grads = result[1]
    if type(grads) is not list:
        raise Failure(f"grads should be a list, but your code returned "
                      f"{validate.describe(grads)}. Build it with [...] or list(...) (the other "
                      "tests convert it, so this is the only test it costs).")
    computes(student, weights, 0.1, result)


@pytest.mark.rule("l2.penalty_is_python_float")
@pytest.mark.graded("l2_regularization", weight=1)
def test_penalty_is_a_python_float_for_float32_weights(student, seed_for):
    weights = weights_for(seed_for("l2-float32-type"), [(3, 4), (4, 2)], np.float32)
    result = student.l2_regularization(weights, 0.05)
    l2_result(result, 2)
    computes(student, weights, 0.05, result)


@pytest.mark.rule("l2.empty_list")
@pytest.mark.graded("l2_regularization", weight=1)
def test_an_empty_list_gives_zero_penalty_and_no_gradients(student, seed_for):
    weights = weights_for(seed_for("l2-empty-gate"), [(2, 2)])
    computes(student, weights, 0.3)
    penalty, grads = l2_values(student.l2_regularization([], 0.3), [])
    close(penalty, 0.0, "The penalty of an empty list")
    if grads:
        raise Failure("An empty list of weights should give an empty list of gradients.")


@pytest.mark.rule("l2.inputs_unchanged")
@pytest.mark.graded("l2_regularization", weight=2)
def test_weights_passed_in_are_not_modified(student, seed_for):
    weights = weights_for(seed_for("l2-mutation"), SHAPES[:2])
    result = student.l2_regularization(weights, 0.3)  # 2 * lambda_ != 1: W *= 2 * lambda_ shows
    record = student.last_call
    with validate.well_formed_first():
        l2_values(result, weights)
    computes(student, weights, 0.3, result)
    if record.in_place:
        raise Failure("l2_regularization changed the weight matrices passed to it in place "
                      "(e.g. W *= ...). Compute new arrays instead.")
    if record.mutated:
        raise Failure("l2_regularization replaced items of the list of weights passed to it "
                      "(e.g. weights[k] = ...), so the caller's list now holds other arrays. "
                      "Build a new list of gradients instead.")

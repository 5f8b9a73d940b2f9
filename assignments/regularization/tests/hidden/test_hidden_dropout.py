"""Hidden tests of ``dropout``: the reference on unseen inputs, plus properties every correct
dropout has (so that feedback can tell "draws differently" from "behaves wrongly")."""

from __future__ import annotations

import numpy as np
import pytest

from assignments.regularization.grader import diagnose
from autograder.grading import validate
from autograder.grading.checks import close, expect_raises, names_number
from autograder.sandbox.errors import Failure, StudentRaised
from autograder.selfcheck.messages import quoted


def activations(seed: int, shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def dropout_result(result: object, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Unpack ``(out, mask)`` of a training-mode call and check both arrays."""
    out, mask = validate.pair(result, "The result of dropout (out, mask)")
    if mask is None:
        raise Failure("In training mode dropout should return the mask it used, but your code "
                      "returned None as the mask.")
    return validate.array(out, "out", shape), validate.array(mask, "mask", shape)


def gate(mask: np.ndarray, p: float) -> None:
    """Gate of the property checks: they earn credit only when the mask keeps about p of the
    units (a mask that drops everything passes "values are 0 or 1/p" by doing nothing)."""
    kept = int(np.count_nonzero(mask))
    low, high = diagnose.keep_rate_band(mask.size, p)
    if not low <= kept <= high:
        raise Failure(f"This check counts only when the mask keeps about p of the units, and "
                      f"yours kept {kept} of {mask.size} ({kept / mask.size:.1%}) with "
                      f"p={p:g}. p is the probability of KEEPING a unit: keep where "
                      "rng.random(A.shape) < p.")


def check_against_reference(student, reference, A: np.ndarray, p: float, seed: int, label: str,
                            rtol: float = 1e-7, check_draws: bool = False) -> None:
    """Call both on generators of the same seed; compare mask and out (the generator after
    explains a wrong mask) and, with ``check_draws``, the generator after as well."""
    rng = np.random.default_rng(seed)
    state = rng.bit_generator.state
    out, mask = dropout_result(student.dropout(A, p, True, rng), A.shape)
    expected_rng = np.random.default_rng(seed)
    expected_out, expected_mask = reference.dropout(A, p, True, expected_rng)
    diagnose.close_or_explain(
        mask, expected_mask, f"The mask {label}",
        lambda: diagnose.dropout_cause(A, p, state, mask, rng.bit_generator.state), rtol=rtol)
    close(out, expected_out, f"out {label}", rtol=rtol, hint="out should be A * mask.")
    if check_draws and rng.bit_generator.state != expected_rng.bit_generator.state:
        drew = "no random number" if rng.bit_generator.state == state else (
            "a different amount of random numbers")
        raise Failure(f"Your dropout drew {drew} {label}, where it should draw "
                      "rng.random(A.shape) exactly once in every training call, whatever p "
                      "is (with p=1 every draw is below p, so every unit is kept). A special "
                      "case for p=1 changes the random numbers the next call gets.")


@pytest.mark.rule("dropout.draw_rule")
@pytest.mark.graded("dropout", weight=4)
def test_matches_the_required_draw_on_a_hidden_seed(student, reference, seed_for):
    A = activations(seed_for("dropout-2d-input"), (17, 23))
    check_against_reference(student, reference, A, 0.45, seed_for("dropout-2d"),
                            "for a 17x23 A with p=0.45")


@pytest.mark.rule("dropout.one_draw_per_call")
@pytest.mark.graded("dropout", weight=2)
def test_draws_exactly_once_per_call(student, seed_for):
    A = activations(seed_for("dropout-draws-input"), (9, 14))
    seed = seed_for("dropout-draws")
    rng = np.random.default_rng(seed)
    before = rng.bit_generator.state
    for _ in range(2):
        _, mask = dropout_result(student.dropout(A, 0.3, True, rng), A.shape)
        gate(mask, 0.3)
    expected = np.random.default_rng(seed)
    expected.random(A.shape)
    expected.random(A.shape)
    if rng.bit_generator.state == before:
        raise Failure("dropout did not draw from the generator passed as rng. Use that rng "
                      "(not np.random.* or a new default_rng()) for the mask.")
    if rng.bit_generator.state != expected.bit_generator.state:
        raise Failure("Each dropout call should draw from rng exactly once, with "
                      "rng.random(A.shape); your dropout drew a different amount of random "
                      "numbers over two calls (another random function, or extra draws).")


@pytest.mark.rule("dropout.any_shape", "dropout.draw_rule")
@pytest.mark.graded("dropout", weight=2)
def test_matches_the_required_draw_for_3d_activations(student, reference, seed_for):
    A = activations(seed_for("dropout-3d-input"), (3, 5, 7))
    check_against_reference(student, reference, A, 0.7, seed_for("dropout-3d"),
                            "for a 3-D A of shape (3, 5, 7)")


@pytest.mark.rule("dropout.keeps_dtype")
@pytest.mark.graded("dropout", weight=1)
def test_float32_activations_give_float32_out_and_mask(student, seed_for):
    A = activations(seed_for("dropout-float32-input"), (8, 11), np.float32)
    rng = np.random.default_rng(seed_for("dropout-float32"))
    out, mask = dropout_result(student.dropout(A, 0.6, True, rng), A.shape)
    gate(mask, 0.6)
    for name, value in (("mask", mask), ("out", out)):
        if value.dtype != np.float32:
            raise Failure(f"For a float32 A, {name} should be float32 too (A's float dtype), "
                          f"but it is {value.dtype}. Convert the mask with .astype(A.dtype).")


@pytest.mark.rule("dropout.draw_rule")
@pytest.mark.graded("dropout", weight=1)
def test_matches_the_required_draw_for_float32_activations(student, reference, seed_for):
    A = activations(seed_for("dropout-float32-input"), (8, 11), np.float32)
    check_against_reference(student, reference, A, 0.6, seed_for("dropout-float32"),
                            "for a float32 A", rtol=1e-6)


@pytest.mark.rule("dropout.p_one", "dropout.one_draw_per_call")
@pytest.mark.graded("dropout", weight=1)
def test_p_equal_to_one_keeps_everything_and_draws_once(student, reference, seed_for):
    A = activations(seed_for("dropout-p1-input"), (6, 4))
    check_against_reference(student, reference, A, 1.0, seed_for("dropout-p1"), "with p=1",
                            check_draws=True)


@pytest.mark.rule("dropout.mask_values")
@pytest.mark.graded("dropout", weight=2)
def test_mask_values_are_zero_or_one_over_p(student, seed_for):
    p = 0.35
    A = activations(seed_for("dropout-values-input"), (40, 50))
    rng = np.random.default_rng(seed_for("dropout-values"))
    state = rng.bit_generator.state
    _, mask = dropout_result(student.dropout(A, p, True, rng), A.shape)
    gate(mask, p)
    bad = ~(np.isclose(mask, 0.0) | np.isclose(mask, 1 / p))
    if bad.any():
        raise Failure(f"Every entry of the mask should be 0 or 1/p = {1 / p:.6g}, but "
                      f"{int(bad.sum())} of {mask.size} entries are neither.\nLikely cause: "
                      + diagnose.dropout_cause(A, p, state, mask))


@pytest.mark.rule("dropout.keep_rate")
@pytest.mark.graded("dropout", weight=2)
def test_keeps_about_p_of_the_units(student, seed_for):
    # The kept count of a correct dropout is Bin(n, p) whatever generator it uses, so the
    # band from diagnose.keep_rate_band (binomial quantiles at 0.5e-9 and 1 - 0.5e-9) fails
    # a correct answer with probability below 1e-9 (the two tails sum to 9.9e-10). For
    # n = 40,000 and p = 0.7 it is 27,438..28,557 kept units (70 % +- 1.4 percentage points),
    # far from the 30 % a swapped keep/drop rule gives.
    p = 0.7
    A = activations(seed_for("dropout-rate-input"), (200, 200))
    rng = np.random.default_rng(seed_for("dropout-rate"))
    _, mask = dropout_result(student.dropout(A, p, True, rng), A.shape)
    kept = int(np.count_nonzero(mask))
    low, high = diagnose.keep_rate_band(mask.size, p)
    if not low <= kept <= high:
        raise Failure(f"With keep probability p={p}, dropout should keep about {p:.0%} of the "
                      f"units, but yours kept {kept / mask.size:.2%} of {mask.size}. p is the "
                      "probability of KEEPING a unit: keep where rng.random(A.shape) < p.")


@pytest.mark.rule("dropout.out_is_A_times_mask")
@pytest.mark.graded("dropout", weight=1)
def test_out_equals_A_times_mask(student, seed_for):
    A = activations(seed_for("dropout-product-input"), (12, 10))
    out, mask = dropout_result(
        student.dropout(A, 0.45, True, np.random.default_rng(seed_for("dropout-product"))),
        A.shape)
    gate(mask, 0.45)
    close(out, A * mask, "out", hint="out should be A * mask, with the mask you return.")


@pytest.mark.rule("dropout.eval_identity", "dropout.eval_draws_nothing")
@pytest.mark.graded("dropout", weight=2)
def test_evaluation_mode_is_the_identity_and_draws_nothing(student, seed_for):
    A = activations(seed_for("dropout-eval-input"), (5, 3, 4))
    rng = np.random.default_rng(seed_for("dropout-eval"))
    before = rng.bit_generator.state
    out, mask = validate.pair(student.dropout(A, 0.3, False, rng),
                              "The result of dropout with training=False")
    if mask is not None:
        raise Failure("With training=False dropout should return (A, None); your mask is not "
                      "None.")
    out = validate.array(out, "out with training=False", A.shape)
    close(out, A, "out with training=False",
          hint="dropout is only applied in training; with training=False return A unchanged.")
    if rng.bit_generator.state != before:
        raise Failure("With training=False dropout should draw no random numbers, but yours "
                      "drew from rng.")


def accepts_a_valid_p(student) -> None:
    """Gate of the refusal checks: a dropout that raises ValueError whatever p is refuses
    every invalid p too, so they earn credit only when a valid p is accepted."""
    try:
        student.dropout(np.ones((2, 3)), 0.5, True, np.random.default_rng(0))
    except StudentRaised as raised:
        if raised.type_name != "ValueError":
            raise
        raise Failure("This check counts only when dropout accepts a valid p, and yours "
                      "raised ValueError for p=0.5 too: "
                      f"{quoted(raised.message)!r}") from None


@pytest.mark.rule("dropout.invalid_p")
@pytest.mark.graded("dropout", weight=2)
@pytest.mark.parametrize("p", [0.0, -0.3, 1.25, 7.0])
def test_invalid_p_raises_ValueError_naming_it(student, p):
    accepts_a_valid_p(student)
    A = np.ones((2, 3))
    with expect_raises("ValueError", f"dropout with p={p}") as raised:
        student.dropout(A, p, True, np.random.default_rng(0))
    if not names_number(raised.value.message, p):
        raise Failure(f"The ValueError for p={p} should name the value received (for example "
                      f"f\"... got {{p}}\"); your message was: {quoted(raised.value.message)!r}, "
                      "which states at most the allowed range.")


@pytest.mark.rule("dropout.invalid_p")
@pytest.mark.graded("dropout", weight=1)
def test_invalid_p_raises_ValueError_when_not_training_too(student):
    # Naming the value is checked above; here only the refusal counts.
    accepts_a_valid_p(student)
    try:
        with expect_raises("ValueError", "dropout with p=1.5 and training=False"):
            student.dropout(np.ones((2, 3)), 1.5, False, np.random.default_rng(0))
    except Failure as failure:
        raise Failure(f"{failure} Check p first, before anything else: a p outside (0, 1] "
                      "is an error in evaluation mode too.") from None


@pytest.mark.rule("dropout.rng_none")
@pytest.mark.graded("dropout", weight=1)
def test_rng_none_gives_a_fresh_mask_of_zero_and_one_over_p(student, seed_for):
    p = 0.5
    A = activations(seed_for("dropout-none-input"), (30, 30))
    out, mask = dropout_result(student.dropout(A, p, True, None), A.shape)
    gate(mask, p)
    bad = ~(np.isclose(mask, 0.0) | np.isclose(mask, 1 / p))
    if bad.any():
        raise Failure("With rng=None, dropout should still return a mask of 0 and 1/p "
                      f"(use np.random.default_rng()); {int(bad.sum())} entries are neither.")
    close(out, A * mask, "out with rng=None", hint="out should be A * mask.")
    _, again = dropout_result(student.dropout(A, p, True, None), A.shape)
    if np.array_equal(mask, again):
        raise Failure("Two calls of dropout with rng=None returned the same mask, so each "
                      "call starts from the same seed. rng=None means a fresh, unseeded "
                      "generator: np.random.default_rng() with no seed.")


@pytest.mark.rule("dropout.input_unchanged")
@pytest.mark.graded("dropout", weight=2)
def test_A_is_not_modified(student, seed_for):
    A = activations(seed_for("dropout-mutation-input"), (7, 9))
    result = student.dropout(A, 0.5, True, np.random.default_rng(seed_for("dropout-mutation")))
    mutated = student.last_call.mutated
    with validate.well_formed_first():
        _, mask = dropout_result(result, A.shape)
    gate(mask, 0.5)
    if mutated:
        raise Failure("dropout changed the array A passed to it (in place, e.g. A *= mask). "
                      "Return a new array: out = A * mask.")

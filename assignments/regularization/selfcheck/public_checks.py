"""The public checks: each one tries one rule of the assignment on small, public inputs.

Every check is a plain function ``check(student, expected)`` (plus a parameter for the
parametrised ones): ``student`` gives the submission's three functions and, after each
call, ``student.last_call.mutated`` (the arguments the call changed in place);
``expected`` holds what the kit computed for these inputs, loaded from the bundle's
expectations file (see :mod:`.datafile`). The kit's public suite (``tests/public``) and
``check.py`` run the same functions from :data:`CHECKS`, in that order.

Each check names the rules it covers; the hidden suite's tests name theirs the same way,
and a kit test makes sure every hidden rule has a public check here.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

import numpy as np

from . import explain, validate
from .compare import close, close_or_explain, expect_raises, names_number
from .messages import Failure, quoted
from .registry import Check, registrar

MODULE = "regularization"  # the submission's module: MODULE.py or MODULE.ipynb
# The functions the checks call, in the report's order, with the signatures the
# instructions give them (named when a submission lacks one).
FUNCTIONS = ("l2_regularization", "dropout", "train_mlp")
SIGNATURES = {
    "l2_regularization": "(weights, lambda_)",
    "dropout": "(A, p, training=True, rng=None)",
    "train_mlp": "(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0, "
                 "keep_prob=1.0, rng=None)",
}

# --- Public inputs ------------------------------------------------------------------------

LESSON_W1 = np.array([[1.0, 2.0], [3.0, 4.0]])
LESSON_W2 = np.array([[0.5, 1.5], [2.5, 3.5]])
LESSON_A = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
LESSON_LAMBDA = 0.01
DROPOUT_SEED = 2024
TRAIN_SEED = 7
TINY_SIZES = (6, 5, 4, 3)
TINY_SAMPLES = 30
PLAIN = {"lr": 0.5, "epochs": 3, "batch_size": 8, "lambda_": 0.0, "keep_prob": 1.0}
DEFAULTS = {"lr": 0.1, "epochs": 20, "batch_size": 64, "lambda_": 0.0, "keep_prob": 1.0}


def float32_weights() -> list[np.ndarray]:
    """Two float32 matrices for the dtype rules of ``l2_regularization``."""
    rng = np.random.default_rng(31)
    return [rng.standard_normal(shape).astype(np.float32) for shape in ((3, 4), (4, 2))]


def activations(seed: int, shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
    """Seeded standard-normal activations of ``shape``."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@dataclass(frozen=True)
class DropoutCase:
    """One public dropout call whose mask the kit computed: ``dropout(A, p, True, rng(seed))``."""

    input_seed: int
    shape: tuple[int, ...]
    p: float
    seed: int
    dtype: str = "float64"

    def A(self) -> np.ndarray:
        return activations(self.input_seed, self.shape, np.dtype(self.dtype).type)


DROPOUT_CASES = {
    "values": DropoutCase(1, (20, 30), 0.5, DROPOUT_SEED),
    "draw": DropoutCase(4, (4, 5), 0.3, DROPOUT_SEED),
    "float32": DropoutCase(5, (6, 7), 0.6, 77, "float32"),
    "3d": DropoutCase(6, (2, 3, 4), 0.7, 78),
    "p1": DropoutCase(8, (3, 4), 1.0, 79),
    "rate": DropoutCase(9, (150, 150), 0.6, 80),
}


def tiny_problem() -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """A 6-5-4-3 network and 30 samples whose labels a linear rule decides (learnable)."""
    rng = np.random.default_rng(TRAIN_SEED)
    X = rng.standard_normal((TINY_SAMPLES, TINY_SIZES[0]))
    labels = np.argmax(X @ rng.standard_normal((TINY_SIZES[0], TINY_SIZES[-1])), axis=1)
    Y = np.eye(TINY_SIZES[-1])[labels]
    params = {}
    for k, (a, b) in enumerate(itertools.pairwise(TINY_SIZES), start=1):
        params[f"W{k}"] = 0.5 * rng.standard_normal((a, b))
        params[f"b{k}"] = 0.1 * rng.standard_normal((1, b))
    return params, X, Y


# Training runs whose result the kit computed, each on tiny_problem() with
# rng=default_rng(TRAIN_SEED).
TRAINING_CASES = {
    "plain": PLAIN,
    "l2": {**PLAIN, "lambda_": 0.05},
    "dropout": {**PLAIN, "keep_prob": 0.7},
    "l2-and-dropout": {**PLAIN, "lambda_": 0.05, "keep_prob": 0.7},
    "biases": {**PLAIN, "lambda_": 0.5, "epochs": 1},
    "one-batch": {**PLAIN, "batch_size": 64, "epochs": 2},
    "draws": {**PLAIN, "keep_prob": 0.8, "epochs": 2},
}


# --- The registry -----------------------------------------------------------------------------


CHECKS: list[Check] = []
check = registrar(CHECKS)


# --- Checking the shape of results --------------------------------------------------------


def l2_result(result: object, n_weights: int) -> tuple[float, list]:
    """Unpack ``(penalty, grads)``, checking the penalty is a Python float and grads a list."""
    penalty, grads = validate.pair(result, "The result of l2_regularization (penalty, grads)")
    penalty = validate.python_float(penalty, "The penalty")
    if isinstance(grads, np.ndarray):
        raise Failure("grads should be a list with one gradient array per weight matrix, but "
                      "your code returned a single numpy array. Build a list, e.g. "
                      "grads.append(...) for each matrix.")
    grads = validate.sequence(grads, "grads", n_weights)
    if type(result[1]) is not list:
        raise Failure(f"grads should be a list, but your code returned "
                      f"{validate.describe(result[1])}. Build it with [...] or list(...).")
    return penalty, grads


def dropout_result(result: object, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Unpack ``(out, mask)`` of a training-mode dropout call and check both arrays."""
    out, mask = validate.pair(result, "The result of dropout (out, mask)")
    if mask is None:
        raise Failure("In training mode (training=True) dropout should return the mask it "
                      "used, but your code returned None as the mask.")
    return validate.array(out, "out", shape), validate.array(mask, "mask", shape)


def train_result(
    result: object, params: dict[str, np.ndarray], epochs: int
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Unpack ``(params, history)`` and check every array's shape and the loss list."""
    new_params, history = validate.pair(result, "The result of train_mlp (params, history)")
    new_params = validate.mapping(new_params, "The returned params", tuple(params))
    checked = {name: validate.array(new_params[name], f'params["{name}"]', value.shape)
               for name, value in params.items()}
    history = validate.mapping(history, "history", ("loss",))
    losses = validate.sequence(history["loss"], 'history["loss"]', epochs)
    return checked, [validate.python_float(x, f'history["loss"][{i}]')
                     for i, x in enumerate(losses)]


def _state(rng: np.random.Generator) -> dict:
    return rng.bit_generator.state


# --- l2_regularization -----------------------------------------------------------------------


def _l2_lesson(student) -> tuple[float, list]:
    return l2_result(student.l2_regularization([LESSON_W1, LESSON_W2], LESSON_LAMBDA), 2)


@check("l2_regularization", 2, "l2.penalty_value", "l2.grads_is_list")
def l2_penalty_of_the_lesson_matrices_is_lambda_times_sum_of_squares(student, expected):
    entry = expected["l2"]["lesson"]
    penalty, _ = _l2_lesson(student)
    close_or_explain(penalty, entry["penalty"],
                     "The penalty for the lesson's W1, W2 with lambda_=0.01",
                     lambda: explain.l2_penalty(entry, penalty))


@check("l2_regularization", 2, "l2.gradient_values", "l2.gradient_order")
def l2_gradients_are_two_lambda_W_in_the_same_order(student, expected):
    entry = expected["l2"]["lesson"]
    _, grads = _l2_lesson(student)
    for k, W in enumerate((LESSON_W1, LESSON_W2)):
        grad = validate.array(grads[k], f"grads[{k}]", W.shape)
        close_or_explain(grad, entry["grads"][k], f"grads[{k}] for the lesson's W{k + 1}",
                         lambda k=k, grad=grad: explain.l2_gradient(entry, k, grad))


@check("l2_regularization", 2, "l2.penalty_is_python_float", "l2.gradient_dtype")
def l2_of_float32_weights_gives_a_python_float_and_float32_gradients(student, expected):
    entry = expected["l2"]["float32"]
    weights = float32_weights()
    penalty, grads = l2_result(student.l2_regularization(weights, 0.05), len(weights))
    for k, W in enumerate(weights):
        grad = validate.array(grads[k], f"grads[{k}]", W.shape)
        if grad.dtype != W.dtype:
            raise Failure(f"grads[{k}] should have the dtype of weights[{k}] (float32 here), but "
                          f"it is {grad.dtype}. Multiplying a float32 array by a Python float "
                          "keeps float32; np.array(..., dtype=float) or similar does not.")
        close_or_explain(grad, entry["grads"][k], f"grads[{k}] for float32 weights",
                         lambda k=k, grad=grad: explain.l2_gradient(entry, k, grad), rtol=1e-5)
    close_or_explain(penalty, entry["penalty"], "The penalty for float32 weights",
                     lambda: explain.l2_penalty(entry, penalty), rtol=1e-5)


@check("l2_regularization", 1, "l2.lambda_zero")
def l2_with_lambda_zero_gives_zero_penalty_and_zero_gradients(student, expected):
    penalty, grads = l2_result(student.l2_regularization([LESSON_W1, LESSON_W2], 0.0), 2)
    close(penalty, 0.0, "The penalty with lambda_=0")
    for k, W in enumerate((LESSON_W1, LESSON_W2)):
        close(validate.array(grads[k], f"grads[{k}]", W.shape), np.zeros_like(W),
              f"grads[{k}] with lambda_=0")


@check("l2_regularization", 1, "l2.empty_list")
def l2_of_an_empty_list_is_zero_and_no_gradients(student, expected):
    penalty, grads = l2_result(student.l2_regularization([], 0.1), 0)
    close(penalty, 0.0, "The penalty of an empty list of weights")
    if grads:
        raise Failure("With no weight matrices, grads should be an empty list.")


@check("l2_regularization", 1, "l2.inputs_unchanged")
def l2_does_not_change_the_weights_passed_in(student, expected):
    student.l2_regularization([LESSON_W1.copy(), LESSON_W2.copy()], 0.3)
    if student.last_call.mutated:
        raise Failure("l2_regularization changed the weight matrices passed to it (for example "
                      "with W *= ... or W[...] = ...). Compute new arrays instead: the caller "
                      "still needs the original weights.")


# --- dropout --------------------------------------------------------------------------------------


def _dropout_case(student, expected, name: str, label: str, rtol: float = 1e-7):
    """Call dropout on a stored case and compare mask and out with the kit's."""
    case, entry = DROPOUT_CASES[name], expected["dropout"][name]
    A = case.A()
    rng = np.random.default_rng(case.seed)
    out, mask = dropout_result(student.dropout(A, case.p, True, rng), A.shape)
    after = _state(rng)
    close_or_explain(mask, entry["mask"], f"The mask {label}",
                     lambda: explain.dropout_mask(entry, mask, after), rtol=rtol)
    close(out, A * entry["mask"], f"out {label}", rtol=rtol, hint="out should be A * mask.")
    return out, mask, after


@check("dropout", 1, "dropout.result_shapes")
def dropout_returns_out_and_mask_shaped_like_A(student, expected):
    dropout_result(student.dropout(LESSON_A, 0.5, True, np.random.default_rng(DROPOUT_SEED)),
                   LESSON_A.shape)


@check("dropout", 2, "dropout.mask_values")
def dropout_mask_holds_only_zero_or_one_over_p(student, expected):
    case, entry = DROPOUT_CASES["values"], expected["dropout"]["values"]
    A, p = case.A(), case.p
    rng = np.random.default_rng(case.seed)
    _, mask = dropout_result(student.dropout(A, p, True, rng), A.shape)
    bad = ~(np.isclose(mask, 0.0) | np.isclose(mask, 1 / p))
    if bad.any():
        raise Failure(f"Every entry of the mask should be 0 (dropped) or 1/p = {1 / p:g} (kept "
                      f"and scaled), but {int(bad.sum())} of {mask.size} entries are neither "
                      f"(for example {mask[bad][0]:.6g}).\nLikely cause: "
                      + explain.dropout_mask(entry, mask, _state(rng)))


@check("dropout", 1, "dropout.out_is_A_times_mask")
def dropout_output_is_A_times_mask(student, expected):
    A = activations(2, (4, 6))
    out, mask = dropout_result(student.dropout(A, 0.6, True, np.random.default_rng(3)), A.shape)
    close(out, A * mask, "out", hint="out should be A * mask, using the mask you return.")


@check("dropout", 2, "dropout.eval_identity", "dropout.eval_draws_nothing")
def dropout_in_evaluation_mode_returns_A_and_draws_nothing(student, expected):
    rng = np.random.default_rng(DROPOUT_SEED)
    before = _state(rng)
    out, mask = validate.pair(student.dropout(LESSON_A, 0.5, False, rng),
                              "The result of dropout with training=False")
    if mask is not None:
        raise Failure("With training=False dropout should return (A, None): the mask should be "
                      "None, since nothing is dropped at test time.")
    out = validate.array(out, "out with training=False", LESSON_A.shape)
    close(out, LESSON_A, "out with training=False",
          hint="at test time (training=False) dropout changes nothing: return A as it is.")
    if _state(rng) != before:
        raise Failure("With training=False dropout should not draw random numbers, but your code "
                      "drew from rng. Return before drawing the mask when not training.")


@check("dropout", 1, "dropout.invalid_p",
       params=(("0.0", 0.0, ()), ("-0.25", -0.25, ()), ("1.5", 1.5, ())))
def dropout_rejects_p_outside_zero_one_with_a_ValueError_naming_p(student, expected, p):
    with expect_raises("ValueError", f"dropout(A, p={p})") as raised:
        student.dropout(LESSON_A, p, True, np.random.default_rng(0))
    if not names_number(raised.value.message, p):
        raise Failure(f"The ValueError for p={p} should say which value was received, so the "
                      "caller sees the mistake; your message was: "
                      f"{quoted(raised.value.message)!r}")


@check("dropout", 3, "dropout.draw_rule")
def dropout_draws_its_mask_as_the_assignment_says(student, expected):
    case = DROPOUT_CASES["draw"]
    _, _, after = _dropout_case(student, expected, "draw",
                                f"for a 4x5 A with p={case.p} and rng=default_rng({case.seed})")
    if after != explain.state(expected["dropout"]["draw"]["state_after"]):
        raise Failure("dropout should draw from rng exactly once per call, with "
                      "rng.random(A.shape); your code drew a different amount of random numbers.")


@check("dropout", 1, "dropout.one_draw_per_call")
def dropout_draws_exactly_once_per_call(student, expected):
    case = DROPOUT_CASES["draw"]
    A = case.A()
    rng = np.random.default_rng(case.seed)
    before = _state(rng)
    for _ in range(2):
        dropout_result(student.dropout(A, case.p, True, rng), A.shape)
    if _state(rng) == before:
        raise Failure("dropout did not draw from the generator passed as rng. Use that rng "
                      "(not np.random.* or a new default_rng()) for the mask.")
    if _state(rng) != explain.state(expected["dropout"]["draw"]["state_after_two_calls"]):
        raise Failure("Each dropout call should draw from rng exactly once, with "
                      "rng.random(A.shape); your dropout drew a different amount of random "
                      "numbers over two calls (another random function, or extra draws).")


@check("dropout", 1, "dropout.keeps_dtype")
def dropout_of_float32_activations_gives_float32_out_and_mask(student, expected):
    case = DROPOUT_CASES["float32"]
    A = case.A()
    out, mask = dropout_result(student.dropout(A, case.p, True, np.random.default_rng(case.seed)),
                               A.shape)
    for name, value in (("mask", mask), ("out", out)):
        if value.dtype != np.float32:
            raise Failure(f"For a float32 A, {name} should be float32 too (A's float dtype), "
                          f"but it is {value.dtype}. Convert the mask with .astype(A.dtype).")
    _dropout_case(student, expected, "float32", "for a float32 A", rtol=1e-6)


@check("dropout", 1, "dropout.any_shape")
def dropout_works_on_three_dimensional_activations(student, expected):
    _dropout_case(student, expected, "3d", "for a 3-D A of shape (2, 3, 4)")


@check("dropout", 1, "dropout.p_one")
def dropout_with_p_equal_to_one_keeps_every_unit(student, expected):
    _dropout_case(student, expected, "p1", "with p=1")


@check("dropout", 1, "dropout.keep_rate")
def dropout_keeps_about_p_of_the_units(student, expected):
    case, entry = DROPOUT_CASES["rate"], expected["dropout"]["rate"]
    A = case.A()
    _, mask = dropout_result(student.dropout(A, case.p, True, np.random.default_rng(case.seed)),
                             A.shape)
    kept = int(np.count_nonzero(mask))
    low, high = entry["keep_band"]
    if not low <= kept <= high:
        raise Failure(f"With keep probability p={case.p}, dropout should keep about "
                      f"{case.p:.0%} of the units, but yours kept {kept / mask.size:.2%} of "
                      f"{mask.size}. p is the probability of KEEPING a unit: keep where "
                      "rng.random(A.shape) < p.")


@check("dropout", 1, "dropout.rng_none")
def dropout_with_rng_None_uses_a_fresh_generator(student, expected):
    p = 0.5
    A = activations(10, (30, 30))
    out, mask = dropout_result(student.dropout(A, p, True, None), A.shape)
    bad = ~(np.isclose(mask, 0.0) | np.isclose(mask, 1 / p))
    if bad.any():
        raise Failure("With rng=None, dropout should still return a mask of 0 and 1/p "
                      "(use np.random.default_rng()), but some of its entries are neither.")
    close(out, A * mask, "out with rng=None", hint="out should be A * mask.")
    _, again = dropout_result(student.dropout(A, p, True, None), A.shape)
    if np.array_equal(mask, again):
        raise Failure("Two calls of dropout with rng=None returned the same mask, so each "
                      "call starts from the same seed. rng=None means a fresh, unseeded "
                      "generator: np.random.default_rng() with no seed.")


@check("dropout", 1, "dropout.input_unchanged")
def dropout_does_not_change_A(student, expected):
    student.dropout(LESSON_A.copy(), 0.5, True, np.random.default_rng(0))
    if student.last_call.mutated:
        raise Failure("dropout changed the array A passed to it (for example with A *= mask). "
                      "Return a new array, out = A * mask: the caller may still need A.")


# --- train_mlp ------------------------------------------------------------------------------------


def run_training(student, settings: dict):
    """Train the tiny problem with ``rng=default_rng(TRAIN_SEED)``; return the inputs, the
    result and the generator's state after the call."""
    params, X, Y = tiny_problem()
    rng = np.random.default_rng(TRAIN_SEED)
    result = student.train_mlp(params, X, Y, rng=rng, **settings)
    return params, X, Y, result, _state(rng)


def _compare_training(student, expected, case: str, names: tuple[str, ...] | None = None,
                      check_loss: bool = True) -> None:
    settings, entry = TRAINING_CASES[case], expected["train"][case]
    params, _, _, result, after = run_training(student, settings)
    new_params, losses = train_result(result, params, settings["epochs"])
    uses = [name for name, used in (("dropout", settings["keep_prob"] < 1),
                                    ("l2_regularization", settings["lambda_"] > 0)) if used]
    note = (f"train_mlp calls your {' and '.join(uses)}: if a check of those fails, fix that "
            "first. Otherwise: " if uses else "")
    label = ", ".join(f"{k}={v}" for k, v in settings.items())

    def why(loss: list[float] | None = None) -> str:
        return note + explain.training(entry, new_params, loss, after)

    for name in names or tuple(entry["params"]):
        close_or_explain(new_params[name], entry["params"][name],
                         f'params["{name}"] after training with {label}', why, rtol=1e-6)
    if check_loss:
        close_or_explain(losses, entry["losses"], f'history["loss"] with {label}',
                         lambda: why(losses), rtol=1e-6)


@check("train_mlp", 1, "train.result_shapes")
def train_returns_new_params_of_the_same_shapes(student, expected):
    params, _, _, result, _ = run_training(student, PLAIN)
    train_result(result, params, PLAIN["epochs"])


@check("train_mlp", 1, "train.history_floats")
def train_history_has_one_float_loss_per_epoch(student, expected):
    params, _, _, result, _ = run_training(student, {**PLAIN, "epochs": 4})
    _, losses = train_result(result, params, 4)
    if any(x <= 0 for x in losses):
        raise Failure("Each recorded loss is a cross-entropy, so it should be positive; yours "
                      "holds a value <= 0.")


@check("train_mlp", 1, "train.learns")
def train_loss_decreases_on_a_learnable_problem(student, expected):
    params, _, _, result, _ = run_training(student, {**PLAIN, "epochs": 30})
    _, losses = train_result(result, params, 30)
    if not losses[-1] < 0.7 * losses[0]:
        raise Failure(f"On a small problem that a linear rule labels, the loss should drop "
                      f"clearly in 30 epochs, but it went from {losses[0]:.4g} to "
                      f"{losses[-1]:.4g}.\nLikely cause: check the sign of the update (param -= "
                      "lr * grad) and the backward pass.")


@check("train_mlp", 1, "train.inputs_unchanged")
def train_leaves_the_callers_params_unchanged(student, expected):
    run_training(student, {**PLAIN, "lambda_": 0.01, "keep_prob": 0.8})
    if student.last_call.mutated:
        raise Failure("train_mlp changed arrays passed to it in place (for example "
                      "params['W1'] -= lr * gW1 on the caller's array, or X/Y). Copy the "
                      "parameters first and update the copies: the caller's params must stay "
                      "as they were.")


@check("train_mlp", 3, "train.partial_last_batch", params=(
    ("plain", "plain", ("train.steps_plain",)),
    ("l2", "l2", ("train.steps_l2",)),
    ("dropout", "dropout", ("train.steps_dropout",)),
    ("l2-and-dropout", "l2-and-dropout", ("train.steps_l2_and_dropout",)),
))
def train_follows_the_assignment_step_by_step(student, expected, case):
    _compare_training(student, expected, case)


@check("train_mlp", 1, "train.biases_not_regularized")
def train_does_not_regularize_the_biases(student, expected):
    _compare_training(student, expected, "biases", names=("b1", "b2", "b3"), check_loss=False)


@check("train_mlp", 1, "train.batch_larger_than_n")
def train_uses_one_batch_when_batch_size_exceeds_n(student, expected):
    _compare_training(student, expected, "one-batch")


@check("train_mlp", 1, "train.rng_order")
def train_draws_random_numbers_in_the_required_order(student, expected):
    settings, entry = TRAINING_CASES["draws"], expected["train"]["draws"]
    *_, after = run_training(student, settings)
    if after == explain.state(entry["state_before"]):
        raise Failure("train_mlp did not draw any random number from the generator passed as "
                      "rng. Shuffle with order = rng.permutation(n) each epoch and pass the "
                      "same rng to dropout.")
    if after != explain.state(entry["state_after"]):
        raise Failure("train_mlp drew a different amount of random numbers from rng than the "
                      "instructions say: per epoch exactly one rng.permutation(n), and per "
                      "batch one dropout call on A1 then one on A2 (only when keep_prob < 1), "
                      "nothing else (no extra masks in the backward pass, no extra "
                      "permutations).")


@check("train_mlp", 1, "train.defaults")
def train_defaults_are_the_ones_of_the_signature(student, expected):
    params, X, Y = tiny_problem()
    written_out, _ = train_result(student.train_mlp(
        params, X, Y, rng=np.random.default_rng(TRAIN_SEED), **DEFAULTS), params, 20)
    implicit, _ = validate.pair(student.train_mlp(
        params, X, Y, rng=np.random.default_rng(TRAIN_SEED)), "The result of train_mlp")
    implicit = validate.mapping(implicit, "The returned params", tuple(params))
    differ = [name for name, value in params.items()
              if not np.allclose(validate.array(implicit[name], f'params["{name}"]',
                                                value.shape),
                                 written_out[name], rtol=1e-9, atol=1e-12)]
    if differ:
        raise Failure("Called as train_mlp(params, X, Y, rng=rng), your train_mlp trained "
                      "differently from the same call with the assignment's defaults written "
                      f"out ({', '.join(differ)} differ): the def line must read def "
                      "train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, "
                      "lambda_=0.0, keep_prob=1.0, rng=None).")


@check("train_mlp", 1, "train.rng_none")
def train_with_rng_None_uses_fresh_random_numbers(student, expected):
    params, X, Y = tiny_problem()
    settings = {**PLAIN, "keep_prob": 0.5, "epochs": 1}
    first, _ = train_result(student.train_mlp(params, X, Y, rng=None, **settings), params, 1)
    second, _ = train_result(student.train_mlp(params, X, Y, rng=None, **settings), params, 1)
    if all(np.array_equal(first[name], second[name]) for name in params):
        raise Failure("Two calls of train_mlp with rng=None and keep_prob=0.5 returned the "
                      "same parameters, so each call starts from the same seed. rng=None "
                      "means a fresh, unseeded generator, np.random.default_rng() with no "
                      "seed, for the permutations and the dropout masks.")


@check("train_mlp", 1, "train.continues_from_params")
def train_three_calls_of_one_epoch_equal_one_call_of_three(student, expected):
    settings = {**PLAIN, "keep_prob": 0.9, "lambda_": 0.01}
    params, X, Y = tiny_problem()
    at_once, _ = train_result(student.train_mlp(
        params, X, Y, rng=np.random.default_rng(TRAIN_SEED), **settings), params, 3)
    rng = np.random.default_rng(TRAIN_SEED)
    stepped = params
    for _ in range(3):
        stepped, _ = train_result(student.train_mlp(
            stepped, X, Y, rng=rng, **{**settings, "epochs": 1}), params, 1)
    for name in params:
        close_or_explain(
            stepped[name], at_once[name], f'params["{name}"] after three calls with epochs=1',
            lambda: "training must continue from the params passed in and draw only from rng, "
                    "so that three calls of one epoch with the same generator equal one call "
                    "of three epochs (look for state kept between calls or a new generator "
                    "made inside train_mlp).", rtol=1e-6)


def state_text(rng: np.random.Generator) -> str:
    """A generator's state as the JSON text the expectations file stores."""
    return json.dumps(_state(rng), sort_keys=True)

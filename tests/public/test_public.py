"""Public tests of the regularization assignment: run them as often as you like.

Each test checks one rule of the assignment (see the instructions) on small inputs, such
as the matrices of the lesson's exercises. When a test fails, its message says what was
expected, what your code did and, when it can tell, the likely cause. The expected values
come from the short functions at the top of this file, which follow the rules of the
assignment step by step.

The graded (hidden) tests check the same rules on other inputs, and also train your
``train_mlp`` on MNIST, so passing these tests is a good sign but not a guarantee.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from autograder import diagnose, validate
from autograder.checks import close, expect_raises, names_number
from autograder.errors import Failure

# --- Inputs: the lesson's exercise matrices and small seeded arrays ---------------------

LESSON_W1 = np.array([[1.0, 2.0], [3.0, 4.0]])
LESSON_W2 = np.array([[0.5, 1.5], [2.5, 3.5]])
LESSON_A = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
DROPOUT_SEED = 2024
TRAIN_SEED = 7
TINY_SIZES = (6, 5, 4, 3)
TINY_SAMPLES = 30


def tiny_problem() -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """A 6-5-4-3 network and 30 samples whose labels a linear rule decides (learnable)."""
    rng = np.random.default_rng(TRAIN_SEED)
    X = rng.standard_normal((TINY_SAMPLES, TINY_SIZES[0]))
    labels = np.argmax(X @ rng.standard_normal((TINY_SIZES[0], TINY_SIZES[-1])), axis=1)
    Y = np.eye(TINY_SIZES[-1])[labels]
    params = {}
    for k, (a, b) in enumerate(itertools.pairwise(TINY_SIZES), start=1):
        params[f"W{k}"] = 0.5 * rng.standard_normal((a, b))
        params[f"b{k}"] = np.zeros((1, b))
    return params, X, Y


# --- What the assignment asks for, step by step (used for the expected values) ---------


def expected_dropout(A: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """The mask the assignment's rule gives: keep where rng.random(A.shape) < p, scale by 1/p."""
    keep = rng.random(A.shape) < p
    return (keep / p).astype(A.dtype)


def expected_training(
    params: dict[str, np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    settings: dict,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Mini-batch SGD exactly as the assignment describes it."""
    P = {name: value.copy() for name, value in params.items()}
    lam, keep_prob, lr = settings["lambda_"], settings["keep_prob"], settings["lr"]
    weights = ("W1", "W2", "W3")
    losses = []
    for _ in range(settings["epochs"]):
        order = rng.permutation(X.shape[0])
        batch_losses = []
        for start in range(0, X.shape[0], settings["batch_size"]):
            idx = order[start:start + settings["batch_size"]]
            Xb, Yb, m = X[idx], Y[idx], len(idx)
            Z1 = Xb @ P["W1"] + P["b1"]
            A1 = np.maximum(Z1, 0)
            if keep_prob < 1:
                M1 = expected_dropout(A1, keep_prob, rng)
                A1 = A1 * M1
            Z2 = A1 @ P["W2"] + P["b2"]
            A2 = np.maximum(Z2, 0)
            if keep_prob < 1:
                M2 = expected_dropout(A2, keep_prob, rng)
                A2 = A2 * M2
            Z3 = A2 @ P["W3"] + P["b3"]
            E = np.exp(Z3 - Z3.max(axis=1, keepdims=True))
            A3 = E / E.sum(axis=1, keepdims=True)
            loss = -np.mean(np.sum(Yb * np.log(A3 + 1e-15), axis=1))
            if lam > 0:
                loss += lam * sum(np.sum(P[w] ** 2) for w in weights)
            batch_losses.append(float(loss))
            dZ3 = (A3 - Yb) / m
            grads = {"W3": A2.T @ dZ3, "b3": dZ3.sum(axis=0, keepdims=True)}
            dA2 = dZ3 @ P["W3"].T * (M2 if keep_prob < 1 else 1)
            dZ2 = dA2 * (Z2 > 0)
            grads["W2"], grads["b2"] = A1.T @ dZ2, dZ2.sum(axis=0, keepdims=True)
            dA1 = dZ2 @ P["W2"].T * (M1 if keep_prob < 1 else 1)
            dZ1 = dA1 * (Z1 > 0)
            grads["W1"], grads["b1"] = Xb.T @ dZ1, dZ1.sum(axis=0, keepdims=True)
            if lam > 0:
                for w in weights:
                    grads[w] = grads[w] + 2 * lam * P[w]
            P = {name: P[name] - lr * grads[name] for name in P}
        losses.append(float(np.mean(batch_losses)))
    return P, losses


# --- Checking the shape of results --------------------------------------------------------


def l2_result(result: object, n_weights: int) -> tuple[float, list]:
    """Unpack ``(penalty, grads)``, checking the penalty is a Python float and grads a list."""
    penalty, grads = validate.pair(result, "The result of l2_regularization (penalty, grads)")
    penalty = validate.python_float(penalty, "The penalty")
    if isinstance(grads, np.ndarray):
        raise Failure("grads should be a list with one gradient array per weight matrix, but "
                      "your code returned a single numpy array. Build a list, e.g. "
                      "grads.append(...) for each matrix.")
    return penalty, validate.sequence(grads, "grads", n_weights)


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


# --- l2_regularization -----------------------------------------------------------------------


@pytest.mark.graded("l2_regularization", weight=2)
def test_l2_penalty_of_the_lesson_matrices_is_lambda_times_sum_of_squares(student):
    lam = 0.01
    penalty, _ = l2_result(student.l2_regularization([LESSON_W1, LESSON_W2], lam), 2)
    expected = lam * (np.sum(LESSON_W1 ** 2) + np.sum(LESSON_W2 ** 2))
    diagnose.close_or_explain(
        penalty, expected, "The penalty for the lesson's W1, W2 with lambda_=0.01",
        lambda: diagnose.l2_penalty_cause([LESSON_W1, LESSON_W2], lam, penalty))


@pytest.mark.graded("l2_regularization", weight=2)
def test_l2_gradients_are_two_lambda_W_in_the_same_order(student):
    lam = 0.01
    _, grads = l2_result(student.l2_regularization([LESSON_W1, LESSON_W2], lam), 2)
    for k, W in enumerate((LESSON_W1, LESSON_W2)):
        grad = validate.array(grads[k], f"grads[{k}]", W.shape)
        diagnose.close_or_explain(
            grad, 2 * lam * W, f"grads[{k}] for the lesson's W{k + 1}",
            lambda W=W, grad=grad: diagnose.l2_gradient_cause(W, lam, grad))


@pytest.mark.graded("l2_regularization", weight=1)
def test_l2_of_an_empty_list_is_zero_and_no_gradients(student):
    penalty, grads = l2_result(student.l2_regularization([], 0.1), 0)
    close(penalty, 0.0, "The penalty of an empty list of weights")
    if grads:
        raise Failure("With no weight matrices, grads should be an empty list.")


@pytest.mark.graded("l2_regularization", weight=1)
def test_l2_does_not_change_the_weights_passed_in(student):
    student.l2_regularization([LESSON_W1, LESSON_W2], 0.01)
    if student.last_call.mutated:
        raise Failure("l2_regularization changed the weight matrices passed to it (for example "
                      "with W *= ... or W[...] = ...). Compute new arrays instead: the caller "
                      "still needs the original weights.")


# --- dropout --------------------------------------------------------------------------------------


@pytest.mark.graded("dropout", weight=1)
def test_dropout_returns_out_and_mask_shaped_like_A(student):
    dropout_result(student.dropout(LESSON_A, 0.5, True, np.random.default_rng(DROPOUT_SEED)),
                   LESSON_A.shape)


@pytest.mark.graded("dropout", weight=2)
def test_dropout_mask_holds_only_zero_or_one_over_p(student):
    p = 0.5
    A = np.random.default_rng(1).standard_normal((20, 30))
    _, mask = dropout_result(student.dropout(A, p, True, np.random.default_rng(DROPOUT_SEED)),
                             A.shape)
    bad = ~(np.isclose(mask, 0.0) | np.isclose(mask, 1 / p))
    if bad.any():
        raise Failure(f"Every entry of the mask should be 0 (dropped) or 1/p = {1 / p:g} (kept "
                      f"and scaled), but {int(bad.sum())} of {mask.size} entries are neither "
                      f"(for example {mask[bad][0]:.6g}).\nLikely cause: "
                      + diagnose.dropout_cause(A, p, np.random.default_rng(DROPOUT_SEED)
                                               .bit_generator.state, mask))


@pytest.mark.graded("dropout", weight=1)
def test_dropout_output_is_A_times_mask(student):
    A = np.random.default_rng(2).standard_normal((4, 6))
    out, mask = dropout_result(student.dropout(A, 0.6, True, np.random.default_rng(3)), A.shape)
    close(out, A * mask, "out", hint="out should be A * mask, using the mask you return.")


@pytest.mark.graded("dropout", weight=2)
def test_dropout_in_evaluation_mode_returns_A_and_draws_nothing(student):
    rng = np.random.default_rng(DROPOUT_SEED)
    before = rng.bit_generator.state
    out, mask = validate.pair(student.dropout(LESSON_A, 0.5, False, rng),
                              "The result of dropout with training=False")
    if mask is not None:
        raise Failure("With training=False dropout should return (A, None): the mask should be "
                      "None, since nothing is dropped at test time.")
    out = validate.array(out, "out with training=False", LESSON_A.shape)
    close(out, LESSON_A, "out with training=False",
          hint="at test time (training=False) dropout changes nothing: return A as it is.")
    if rng.bit_generator.state != before:
        raise Failure("With training=False dropout should not draw random numbers, but your code "
                      "drew from rng. Return before drawing the mask when not training.")


@pytest.mark.graded("dropout", weight=1)
@pytest.mark.parametrize("p", [0.0, -0.25, 1.5])
def test_dropout_rejects_p_outside_zero_one_with_a_ValueError_naming_p(student, p):
    with expect_raises("ValueError", f"dropout(A, p={p})") as raised:
        student.dropout(LESSON_A, p, True, np.random.default_rng(0))
    if not names_number(raised.value.message, p):
        raise Failure(f"The ValueError for p={p} should say which value was received, so the "
                      f"caller sees the mistake; your message was: {raised.value.message!r}")


@pytest.mark.graded("dropout", weight=3)
def test_dropout_draws_its_mask_as_the_assignment_says(student):
    p = 0.3
    A = np.random.default_rng(4).standard_normal((4, 5))
    rng = np.random.default_rng(DROPOUT_SEED)
    state = rng.bit_generator.state
    out, mask = dropout_result(student.dropout(A, p, True, rng), A.shape)
    expected_rng = np.random.default_rng(DROPOUT_SEED)
    expected = expected_dropout(A, p, expected_rng)
    diagnose.close_or_explain(
        mask, expected, f"The mask for a 4x5 A with p={p} and rng=default_rng({DROPOUT_SEED})",
        lambda: diagnose.dropout_cause(A, p, state, mask, rng.bit_generator.state))
    close(out, A * expected, "out", hint="out should be A * mask.")
    if rng.bit_generator.state != expected_rng.bit_generator.state:
        raise Failure("dropout should draw from rng exactly once per call, with "
                      "rng.random(A.shape); your code drew a different amount of random numbers.")


@pytest.mark.graded("dropout", weight=1)
def test_dropout_does_not_change_A(student):
    student.dropout(LESSON_A, 0.5, True, np.random.default_rng(0))
    if student.last_call.mutated:
        raise Failure("dropout changed the array A passed to it (for example with A *= mask). "
                      "Return a new array, out = A * mask: the caller may still need A.")


# --- train_mlp ------------------------------------------------------------------------------------

PLAIN = {"lr": 0.5, "epochs": 3, "batch_size": 8, "lambda_": 0.0, "keep_prob": 1.0}


def run_training(student, settings: dict):
    """Train the tiny problem with ``rng=default_rng(TRAIN_SEED)``; return the inputs, the
    result and the generator's state after the call."""
    params, X, Y = tiny_problem()
    rng = np.random.default_rng(TRAIN_SEED)
    result = student.train_mlp(params, X, Y, rng=rng, **settings)
    return params, X, Y, result, rng.bit_generator.state


@pytest.mark.graded("train_mlp", weight=1)
def test_train_returns_new_params_of_the_same_shapes(student):
    params, _, _, result, _ = run_training(student, PLAIN)
    train_result(result, params, PLAIN["epochs"])


@pytest.mark.graded("train_mlp", weight=1)
def test_train_history_has_one_float_loss_per_epoch(student):
    settings = {**PLAIN, "epochs": 4}
    params, _, _, result, _ = run_training(student, settings)
    _, losses = train_result(result, params, 4)
    if any(x <= 0 for x in losses):
        raise Failure("Each recorded loss is a cross-entropy, so it should be positive; yours "
                      "holds a value <= 0.")


@pytest.mark.graded("train_mlp", weight=1)
def test_train_loss_decreases_on_a_learnable_problem(student):
    settings = {**PLAIN, "epochs": 30}
    params, _, _, result, _ = run_training(student, settings)
    _, losses = train_result(result, params, 30)
    if not losses[-1] < 0.7 * losses[0]:
        raise Failure(f"On a small problem that a linear rule labels, the loss should drop "
                      f"clearly in 30 epochs, but it went from {losses[0]:.4g} to "
                      f"{losses[-1]:.4g}.\nLikely cause: check the sign of the update (param -= "
                      "lr * grad) and the backward pass.")


@pytest.mark.graded("train_mlp", weight=1)
def test_train_leaves_the_callers_params_unchanged(student):
    run_training(student, PLAIN)
    changed = [path for path in student.last_call.mutated if path.startswith("args[0]")]
    if changed:
        raise Failure("train_mlp changed the params dict passed to it (for example with "
                      "params['W1'] -= ...). Copy the arrays first and update the copies: the "
                      "caller's params must stay as they were.")


@pytest.mark.graded("train_mlp", weight=3)
@pytest.mark.parametrize(
    "extra",
    [{}, {"lambda_": 0.05}, {"keep_prob": 0.7}, {"lambda_": 0.05, "keep_prob": 0.7}],
    ids=["plain", "l2", "dropout", "l2-and-dropout"],
)
def test_train_follows_the_assignment_step_by_step(student, extra):
    settings = {**PLAIN, **extra}
    params, X, Y, result, state_after = run_training(student, settings)
    new_params, losses = train_result(result, params, settings["epochs"])
    expected_params, expected_losses = expected_training(
        params, X, Y, settings, np.random.default_rng(TRAIN_SEED))
    state = np.random.default_rng(TRAIN_SEED).bit_generator.state
    uses = [name for name, used in (("dropout", settings["keep_prob"] < 1),
                                    ("l2_regularization", settings["lambda_"] > 0)) if used]
    note = (f"train_mlp calls your {' and '.join(uses)}: if a test of those fails, fix that "
            "first. Otherwise: " if uses else "")

    def explain(loss: list[float] | None = None) -> str:
        return note + diagnose.train_cause(params, X, Y, settings, state, new_params, loss,
                                           state_after)

    for name, value in expected_params.items():
        diagnose.close_or_explain(
            new_params[name], value, f'params["{name}"] after 3 epochs ({settings})', explain,
            rtol=1e-6)
    diagnose.close_or_explain(losses, expected_losses, 'history["loss"]',
                              lambda: explain(losses), rtol=1e-6)

"""The public checks of the softmax assignment: each one tries one rule on small, public inputs.

Every check is a plain function ``check(student, expected)``: ``student`` gives the
submission's three functions and, after each call, ``student.last_call.mutated`` (the
arguments the call changed in place); ``expected`` holds what the kit computed for these
inputs, loaded from the bundle's expectations file (see :mod:`.datafile`), with the
results of the usual mistakes and the sentence that names each. The kit's public suite
and ``check.py`` run the same functions from :data:`CHECKS`, in that order.
"""

from __future__ import annotations

import math

import numpy as np

from . import validate
from .compare import close, first_variant
from .messages import Failure
from .registry import Check, registrar

MODULE = "softmax"  # the submission's module: MODULE.py or MODULE.ipynb
# The functions the checks call, in the report's order, with the signatures the
# instructions give them (named when a submission lacks one).
FUNCTIONS = ("softmax", "cross_entropy", "train_softmax")
SIGNATURES = {
    "softmax": "(Z)",
    "cross_entropy": "(P, Y)",
    "train_softmax": "(X, Y, *, lr=0.5, epochs=100)",
}

# --- Public inputs ------------------------------------------------------------------------

LESSON_Z = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
LESSON_Y = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
SMALL_X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, -1.0]])
SMALL_Y = np.eye(3)[[0, 1, 2, 0]]
SCORES_SEED = 11
TRAIN_SEED = 12
TRAINING_CASES = {  # each on training_problem(), compared with the kit's result
    "two-epochs": {"lr": 0.5, "epochs": 2},
    "ten-epochs": {"lr": 0.3, "epochs": 10},
}


def scores(shape: tuple[int, int] = (5, 4), scale: float = 3.0) -> np.ndarray:
    """Seeded normal scores of ``shape``."""
    return np.random.default_rng(SCORES_SEED).normal(0.0, scale, shape)


def training_problem() -> tuple[np.ndarray, np.ndarray]:
    """Twelve examples of five inputs in three classes."""
    rng = np.random.default_rng(TRAIN_SEED)
    X = rng.normal(0.0, 1.0, (12, 5))
    return X, np.eye(3)[rng.integers(0, 3, 12)]


# --- The registry -----------------------------------------------------------------------------


CHECKS: list[Check] = []
check = registrar(CHECKS)


def _probabilities(student, Z: np.ndarray) -> np.ndarray:
    return validate.array(student.softmax(Z.copy()), "softmax(Z)", Z.shape)


# --- softmax ------------------------------------------------------------------------------------


@check("softmax", 2, "softmax.values")
def softmax_of_the_lesson_scores_matches(student, expected):
    entry = expected["softmax"]["lesson"]
    P = _probabilities(student, LESSON_Z)
    close(P, entry["P"], "softmax(Z) of the lesson's 2x3 scores",
          hint=first_variant(P, entry["variants"]))


@check("softmax", 1, "softmax.rows_sum_to_one")
def softmax_rows_sum_to_one(student, expected):
    entry = expected["softmax"]["random"]
    Z = scores()
    P = _probabilities(student, Z)
    close(P.sum(axis=1), np.ones(Z.shape[0]), "Each row sum of softmax(Z)",
          hint=first_variant(P, entry["variants"]))
    close(P, entry["P"], "softmax(Z) of 5x4 random scores")


@check("softmax", 1, "softmax.stable")
def softmax_of_scores_near_1000_stays_finite(student, expected):
    Z = LESSON_Z + 1000.0
    P = student.softmax(Z.copy())
    if isinstance(P, np.ndarray) and P.shape == Z.shape and not np.all(np.isfinite(P)):
        raise Failure("softmax(Z) of scores near 1000 holds inf or nan.\nLikely cause: exp of "
                      "large scores overflows: subtract each row's maximum before exp (the "
                      "result does not change, the overflow goes away).")
    close(validate.array(P, "softmax(Z + 1000)", Z.shape), expected["softmax"]["lesson"]["P"],
          "softmax(Z + 1000), which equals softmax(Z)")


@check("softmax", 1, "softmax.inputs_unchanged")
def softmax_does_not_change_Z(student, expected):
    student.softmax(scores())
    if student.last_call.mutated:
        raise Failure("softmax changed the array Z passed to it (for example with Z -= ... or "
                      "np.exp(Z, out=Z)). Compute new arrays instead: the caller still needs Z.")


# --- cross_entropy ---------------------------------------------------------------------------


@check("cross_entropy", 2, "cross_entropy.values")
def cross_entropy_of_the_lesson_batch_is_the_mean_over_rows(student, expected):
    entry = expected["cross_entropy"]["lesson"]
    value = student.cross_entropy(entry["P"].copy(), LESSON_Y.copy())
    number = validate.number(value, "cross_entropy(P, Y)")
    close(number, entry["loss"], "cross_entropy(P, Y) of the lesson's batch",
          hint=first_variant(number, entry["variants"]))


@check("cross_entropy", 1, "cross_entropy.uniform")
def cross_entropy_of_a_uniform_guess_is_log_k(student, expected):
    value = student.cross_entropy(np.full((4, 3), 1 / 3), SMALL_Y.copy())
    close(validate.number(value, "cross_entropy of a uniform guess"), math.log(3),
          "cross_entropy of P = 1/3 everywhere (it should be log(3))")


@check("cross_entropy", 1, "cross_entropy.python_float")
def cross_entropy_returns_a_python_float(student, expected):
    entry = expected["cross_entropy"]["lesson"]
    validate.python_float(student.cross_entropy(entry["P"].copy(), LESSON_Y.copy()),
                          "cross_entropy(P, Y)")


# --- train_softmax ---------------------------------------------------------------------------


def _trained(student, X: np.ndarray, Y: np.ndarray, settings: dict):
    result = student.train_softmax(X.copy(), Y.copy(), **settings)
    params, losses = validate.pair(result, "The result of train_softmax (params, losses)")
    params = validate.mapping(params, "The returned params", ("W", "b"))
    W = validate.array(params["W"], 'params["W"]', (X.shape[1], Y.shape[1]))
    b = validate.array(params["b"], 'params["b"]', (1, Y.shape[1]))
    losses = validate.float_values(losses, "losses", settings["epochs"])
    return W, b, losses


@check("train_softmax", 2, "train.weights",
       params=tuple((name, name, ()) for name in TRAINING_CASES))
def training_gives_the_expected_weights(student, expected, case):
    entry, settings = expected["train"][case], TRAINING_CASES[case]
    X, Y = training_problem()
    W, b, _ = _trained(student, X, Y, settings)
    hint = first_variant(W, entry["variants"])
    close(W, entry["W"], f"the trained W ({case})", hint=hint)
    close(b, entry["b"], f"the trained b ({case})", hint=hint)


@check("train_softmax", 1, "train.losses")
def training_records_the_loss_before_each_step(student, expected):
    entry = expected["train"]["ten-epochs"]
    X, Y = training_problem()
    _, _, losses = _trained(student, X, Y, TRAINING_CASES["ten-epochs"])
    close(losses[0], math.log(3), "the first loss (W and b start at zero, so it is log(3))",
          hint="W and b do not start at zero, the loss is recorded after the step, or the "
               "softmax or cross_entropy that train_softmax calls is wrong (see their checks).")
    close(losses, entry["losses"], "the list of losses")


@check("train_softmax", 1, "train.inputs_unchanged")
def training_does_not_change_X_or_Y(student, expected):
    student.train_softmax(SMALL_X.copy(), SMALL_Y.copy(), lr=0.5, epochs=2)
    if student.last_call.mutated:
        raise Failure("train_softmax changed the arrays passed to it ("
                      + ", ".join(student.last_call.mutated) + "). Compute new arrays instead.")

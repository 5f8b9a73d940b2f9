"""Likely-cause analysis: turn a mismatch with the contract into a sentence a student understands.

When a submission's result differs from the expected one, the suites call the functions
here with the same inputs and the generator state the call started from. Each function
re-computes, in the trusted grader process, the results of the mistakes students often
make (keep and drop probability swapped, the factor 2 missing from the L2 gradient, the
dropout mask not reused in the backward pass...) and reports the one the submission's
output matches. The sentences describe the mistake and the rule of the contract; they
never show hidden inputs or expected outputs.

The re-computations are small (the suites only diagnose small inputs) and follow
``assignments/regularization/SPEC.md``; the training loop here is independent of the reference
module, which the suites use for the expected values themselves.
"""

from __future__ import annotations

import functools
import importlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.assignment import load
from autograder.grading.checks import close
from autograder.sandbox.errors import Failure

# The public checks' explanations: where both explain the same thing, in the same words.
_explain = importlib.import_module(f"{load('regularization').self_check().__name__}.explain")

# Probability that a correct submission fails a statistical check by bad luck.
FALSE_FAILURE_PROBABILITY = 1e-9
# Tolerances of the "does this output match that variant" tests.
_RTOL = 1e-6
_ATOL = 1e-9


# --- Helpers used by the suites ------------------------------------------------------


def close_or_explain(
    actual: np.ndarray | float,
    expected: np.ndarray | float,
    what: str,
    explain: Callable[[], str],
    *,
    rtol: float = 1e-7,
    atol: float = 1e-9,
) -> None:
    """Like :func:`autograder.grading.checks.close`, but on a mismatch add ``explain()`` as the
    likely cause (computed only then, since the analysis re-runs the common mistakes)."""
    try:
        close(actual, expected, what, rtol=rtol, atol=atol)
    except Failure:
        close(actual, expected, what, rtol=rtol, atol=atol, hint=explain())


def keep_rate_band(n: int, p: float) -> tuple[int, int]:
    """Return the smallest and largest count of kept units a correct dropout may produce.

    The number of kept units among ``n`` independent units, each kept with probability
    ``p``, follows the binomial distribution Bin(n, p). The band cuts half of
    ``FALSE_FAILURE_PROBABILITY`` from each tail, so a correct dropout whose generator is
    not the contract's falls outside it with probability below 1e-9, while a dropout
    that keeps units with a clearly different probability (1 - p, say) lands far outside
    it once ``n`` is in the thousands.
    """
    tail = FALSE_FAILURE_PROBABILITY / 2
    k = np.arange(n + 1)
    log_factorial = _log_factorials(n)
    log_pmf = (log_factorial[n] - log_factorial - log_factorial[::-1]
               + k * np.log(p) + (n - k) * np.log1p(-p))
    pmf = np.exp(log_pmf)
    cdf = np.cumsum(pmf)                           # P(X <= k)
    above = np.append(np.cumsum(pmf[::-1])[::-1][1:], 0.0)  # P(X > k)
    # scipy.stats.binom.ppf(tail) and .isf(tail), computed exactly here because importing
    # scipy.stats costs about a second in every grading process.
    return int(np.argmax(cdf >= tail)), int(np.argmax(above <= tail))


@functools.cache
def _log_factorials(n: int) -> np.ndarray:
    """log(k!) for k = 0..n, with the standard library's lgamma (importing scipy.special
    for its gammaln costs a quarter of a second in every grading process)."""
    return np.array([math.lgamma(k + 1) for k in range(n + 1)])


def _matches(actual: Any, expected: Any) -> bool:
    try:
        a = np.asarray(actual, dtype=np.float64)
        e = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == e.shape and bool(np.allclose(a, e, rtol=_RTOL, atol=_ATOL))


def _generator(state: dict) -> np.random.Generator:
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


# --- dropout -------------------------------------------------------------------------

_SCALE, _KEEP = _explain.SCALE_RULE, _explain.KEEP_RULE


def _dropout_variants(shape: tuple[int, ...], p: float,
                      state: dict) -> list[tuple[np.ndarray, str]]:
    """Masks of the common dropout mistakes, drawn from the generator state of the call."""
    u = _generator(state).random(shape)
    keep, drop = u < p, u >= p
    variants = [
        # What was observed, not a guess: for p <= 0.5 numpy's binomial gives exactly this
        # mask (for p > 0.5 it gives the contract's), so the mask cannot tell them apart.
        # First, because for p = 0.5 it is also the "at least p" mask below.
        ((u > 1 - p) / p, "the units your mask keeps are exactly those whose number from "
                          "rng.random(A.shape) is above 1 - p (rng.random(A.shape) > 1 - p gives "
                          "this mask, and so does rng.binomial(1, p, A.shape) for p <= 0.5, as "
                          "in the lesson). It keeps the right share of units, but the assignment "
                          f"fixes the draw so that results can be checked: {_KEEP}"),
        (drop / p, f"your mask keeps a unit where the random number is at least p. {_KEEP}"),
        (keep * 1.0, f"your mask holds 0 and 1: the kept units are not scaled by 1/p. {_SCALE}"),
        (drop * 1.0, f"your mask holds 0 and 1 and keeps a unit where the random number is at "
                     f"least p. {_KEEP} {_SCALE}"),
        (keep * p, f"your code multiplies the kept units by p instead of dividing by p. {_SCALE}"),
    ]
    if p < 1:
        variants += [
            (drop / (1 - p), "your code treats p as the probability of DROPPING a unit (it keeps "
                             "where the random number is at least p and scales by 1/(1-p)). "
                             f"{_KEEP}"),
            (keep / (1 - p), f"your code scales the kept units by 1/(1-p) instead of 1/p. "
                             f"{_SCALE}"),
        ]
    return variants


def dropout_cause(
    A: np.ndarray,
    p: float,
    state: dict,
    mask: np.ndarray,
    state_after: dict | None = None,
) -> str:
    """Explain why the student's dropout ``mask`` differs from the contract's.

    Args:
        A: the activations passed in (only their shape is used).
        p: the keep probability passed in.
        state: the generator's ``bit_generator.state`` before the call.
        mask: the mask the submission returned (already checked to be a numeric array).
        state_after: the generator's state after the call, if known.
    """
    mask = np.asarray(mask, dtype=np.float64)
    if mask.shape != A.shape:
        return f"the mask should have the shape of A, {A.shape}."
    for variant, sentence in _dropout_variants(A.shape, p, state):
        if _matches(mask, variant):
            return sentence
    if state_after is not None and state_after == state:
        return ("your dropout did not draw any random number from the generator passed as "
                "rng (is it using np.random.* or a new np.random.default_rng() instead?). "
                f"{_KEEP}")
    if state_after is not None:
        one_draw = _generator(state)
        one_draw.random(A.shape)
        if state_after != one_draw.bit_generator.state:
            return ("your dropout drew a different amount of random numbers from rng than one "
                    "rng.random(A.shape) call (a second draw, or another random function), so "
                    f"its mask is not the assignment's. {_KEEP}")
    return _dropout_statistics_cause(mask, p)


def _dropout_statistics_cause(mask: np.ndarray, p: float) -> str:
    """Explain a mask drawn from another random source by its values and keep rate, in the
    public checks' words."""
    return _explain.mask_statistics(mask, p, keep_rate_band(mask.size, p))


# --- l2_regularization -----------------------------------------------------------------


def _penalty_variants(weights: list[np.ndarray], lam: float) -> list[tuple[float, str]]:
    W = [np.asarray(w, dtype=np.float64) for w in weights]
    if not W:
        return []
    squares = sum(float(np.sum(w * w)) for w in W)
    sizes = sum(w.size for w in W)
    return [
        (squares, "the penalty is missing the factor lambda_: it is lambda_ times the sum of "
                  "the squared weights."),
        (lam / 2 * squares, "the penalty is halved: in this assignment it is lambda_ times the "
                            "sum of the squared weights, without 1/2."),
        (2 * lam * squares, "the penalty has a factor 2 too many: the 2 belongs to the "
                            "gradient (2 * lambda_ * W), not to the penalty."),
        (lam * sum(float(np.sum(np.abs(w))) for w in W),
         "the penalty sums the absolute values of the weights (that is L1); L2 sums their "
         "squares."),
        (lam * sum(float(np.sqrt(np.sum(w * w))) for w in W),
         "the penalty adds up the norms of the matrices; it should add up the SQUARED entries "
         "(no square root)."),
        (lam * float(np.sqrt(squares)), "the penalty takes a square root; it should be lambda_ "
                                        "times the plain sum of the squared weights."),
        (lam * sum(float(np.mean(w * w)) for w in W),
         "the penalty averages the squared weights of each matrix; it should SUM them."),
        (lam * squares / sizes, "the penalty averages the squared weights; it should SUM them."),
        (lam * float(np.sum(W[-1] ** 2)), "the penalty only counts the last matrix: add the "
                                          "squared weights of every matrix in the list."),
        (lam * float(np.sum(W[0] ** 2)), "the penalty only counts the first matrix (is there a "
                                         "return inside the loop?): add every matrix."),
        (lam * sum(float(np.sum(w)) ** 2 for w in W),
         "the penalty squares the sum of the weights; it should sum the squares of the weights."),
    ]


def l2_penalty_cause(weights: list[np.ndarray], lambda_: float, penalty: float) -> str:
    """Explain why the student's L2 ``penalty`` differs from the contract's."""
    for value, sentence in _penalty_variants(weights, lambda_):
        if _matches(penalty, value):
            return sentence
    return ("the penalty should be lambda_ times the sum, over all matrices, of the squares of "
            "all their entries.")


def _gradient_variants(W: np.ndarray, lambda_: float) -> list[tuple[np.ndarray, str]]:
    """Gradients of the common L2 mistakes for one weight matrix ``W``."""
    W = np.asarray(W, dtype=np.float64)
    return [
        (lambda_ * W, "the gradient is missing the factor 2: the derivative of lambda_ * W**2 "
                      "is 2 * lambda_ * W."),
        (2 * W, "the gradient is missing the factor lambda_: it is 2 * lambda_ * W."),
        (W, "the gradient should be 2 * lambda_ * W; yours equals W."),
        (lambda_ / 2 * W, "the gradient should be 2 * lambda_ * W; yours is lambda_ * W / 2."),
        (lambda_ * np.sign(W), "the gradient uses the sign of W (the L1 gradient); the L2 "
                               "gradient is 2 * lambda_ * W."),
        (2 * lambda_ * np.sign(W), "the gradient uses the sign of W (the L1 gradient); the L2 "
                                   "gradient is 2 * lambda_ * W."),
        (2 * lambda_ * W * W, "the gradient squares W; the derivative of lambda_ * W**2 is "
                              "2 * lambda_ * W."),
    ]


def l2_gradient_cause(W: np.ndarray, lambda_: float, grad: np.ndarray) -> str:
    """Explain why the student's gradient ``grad`` of one weight matrix ``W`` is wrong."""
    for value, sentence in _gradient_variants(W, lambda_):
        if _matches(grad, value):
            return sentence
    return "grads[k] should be 2 * lambda_ * weights[k], for each matrix in order."


# --- train_mlp --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Training:
    """How one variant of the training loop differs from the contract."""

    l2_grads: str = "weights"     # "weights", "none" (not added) or "all" (biases too)
    penalty_in_loss: bool = True  # penalty included in the recorded loss
    dropout: bool = True          # dropout applied at all when keep_prob < 1
    # Masks used in the backward pass for (dA1, dA2): "same", "none" (not applied) or
    # "fresh" (drawn again, dA2's first, as the backward pass reaches it).
    backward_masks: tuple[str, str] = ("same", "same")
    per_m: bool = True            # dZ3 divided by the batch size
    weighted_loss: bool = False   # epoch loss weighted by batch size
    shuffle: str = "per_epoch"    # "per_epoch", "once", "unused" (drawn, not used), "none"
    drop_last: bool = False       # last, smaller batch skipped
    shuffle_Y: bool = True        # Y taken with the same rows as X
    relu_at_zero: bool = False    # relu's derivative taken as 1 where Z == 0 (Z >= 0)


_SAME_MASKS = ("The backward pass must reuse the masks M1 and M2 of the forward pass of the same "
               "batch: units dropped in the forward pass get no gradient.")

_TRAINING_CAUSES: list[tuple[_Training, str]] = [
    (_Training(l2_grads="none"),
     "the L2 gradients 2 * lambda_ * W are not added to gW1, gW2 and gW3 (the penalty only "
     "changes the recorded loss, so it does not regularize anything)."),
    (_Training(l2_grads="all"),
     "the biases are regularized too: the L2 penalty and its gradients apply to W1, W2 and "
     "W3 only, never to b1, b2, b3."),
    (_Training(backward_masks=("none", "none")),
     "the dropout masks are not applied in the backward pass: multiply dA2 by M2 and dA1 by "
     f"M1. {_SAME_MASKS}"),
    (_Training(backward_masks=("same", "none")),
     f"the backward pass does not multiply dA2 by the mask M2. {_SAME_MASKS}"),
    (_Training(backward_masks=("none", "same")),
     f"the backward pass does not multiply dA1 by the mask M1. {_SAME_MASKS}"),
    (_Training(backward_masks=("fresh", "fresh")),
     f"the backward pass draws new dropout masks. {_SAME_MASKS}"),
    (_Training(backward_masks=("fresh", "same")),
     f"the backward pass draws a new dropout mask for dA1. {_SAME_MASKS}"),
    (_Training(backward_masks=("same", "fresh")),
     f"the backward pass draws a new dropout mask for dA2. {_SAME_MASKS}"),
    (_Training(dropout=False),
     "dropout is never applied during training: when keep_prob < 1, call dropout on A1 and "
     "on A2 in the forward pass."),
    (_Training(per_m=False),
     "the gradient is not divided by the batch size: dZ3 = (A3 - Y) / m, with m the number "
     "of rows in the batch."),
    (_Training(shuffle="once"),
     "the rows are shuffled only once: draw a new order = rng.permutation(n) at the start "
     "of every epoch."),
    (_Training(shuffle="unused"),
     "the permutation is drawn but not used: the batches should be consecutive slices of "
     "order, i.e. X[order[start:start + batch_size]]."),
    (_Training(shuffle="none"),
     "the rows are never shuffled: at the start of every epoch draw order = "
     "rng.permutation(n) and take the batches from it."),
    (_Training(shuffle_Y=False),
     "the labels are not shuffled with the inputs: take Y[idx] with the same indices as "
     "X[idx]."),
    (_Training(relu_at_zero=True),
     "relu's derivative lets the gradient through where Z is exactly 0: it is 0 there, "
     "dZ = dA * (Z > 0), not (Z >= 0). With zero biases (as the lesson starts) a row of "
     "zeros in X makes Z exactly 0."),
    (_Training(drop_last=True),
     "the last, smaller batch is skipped: when batch_size does not divide n, the last batch "
     "holds the remaining rows and is trained on too."),
]

_HISTORY_CAUSES: list[tuple[_Training, str]] = [
    (_Training(penalty_in_loss=False),
     "the recorded loss leaves out the L2 penalty: with lambda_ > 0 each batch loss is the "
     "cross-entropy plus the penalty of [W1, W2, W3]."),
    (_Training(weighted_loss=True),
     "the epoch loss is weighted by batch size: it should be the plain mean of that epoch's "
     "batch losses (a smaller last batch counts as much as the others)."),
]


def _relu(Z: np.ndarray) -> np.ndarray:
    return np.maximum(Z, 0)


def _softmax(Z: np.ndarray) -> np.ndarray:
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _relu_derivative(Z: np.ndarray, how: _Training) -> np.ndarray:
    return Z >= 0 if how.relu_at_zero else Z > 0


def _mask(rng: np.random.Generator, shape: tuple[int, ...], p: float) -> np.ndarray:
    return (rng.random(shape) < p) / p


def _train(
    params: dict[str, np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    settings: dict[str, Any],
    state: dict,
    how: _Training,
) -> tuple[dict[str, np.ndarray], list[float], dict]:
    """Train following the contract, except where ``how`` says otherwise.

    Returns the parameters, the epoch losses and the generator's final state."""
    lr = settings.get("lr", 0.1)
    epochs = settings.get("epochs", 20)
    batch_size = settings.get("batch_size", 64)
    lam = settings.get("lambda_", 0.0)
    keep_prob = settings.get("keep_prob", 1.0)
    rng = _generator(state)
    P = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    n = X.shape[0]
    use_dropout = keep_prob < 1 and how.dropout
    regularized = ("W1", "W2", "W3") if how.l2_grads != "all" else tuple(P)
    order = rng.permutation(n) if how.shuffle == "once" else np.arange(n)
    losses: list[float] = []
    for _ in range(epochs):
        if how.shuffle in ("per_epoch", "unused"):
            drawn = rng.permutation(n)
            order = drawn if how.shuffle == "per_epoch" else np.arange(n)
        batch_losses, batch_sizes = [], []
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            if how.drop_last and idx.size < batch_size:
                continue
            Xb = X[idx]
            Yb = Y[idx] if how.shuffle_Y else Y[start:start + idx.size]
            m = Xb.shape[0]
            Z1 = Xb @ P["W1"] + P["b1"]
            A1 = _relu(Z1)
            if use_dropout:
                M1 = _mask(rng, A1.shape, keep_prob)
                A1 = A1 * M1
            Z2 = A1 @ P["W2"] + P["b2"]
            A2 = _relu(Z2)
            if use_dropout:
                M2 = _mask(rng, A2.shape, keep_prob)
                A2 = A2 * M2
            A3 = _softmax(A2 @ P["W3"] + P["b3"])
            loss = -np.mean(np.sum(Yb * np.log(A3 + 1e-15), axis=1))
            if lam > 0 and how.penalty_in_loss:
                loss += lam * sum(float(np.sum(P[k] ** 2)) for k in regularized)
            batch_losses.append(float(loss))
            batch_sizes.append(m)
            dZ3 = (A3 - Yb) / m if how.per_m else A3 - Yb
            g = {"W3": A2.T @ dZ3, "b3": dZ3.sum(axis=0, keepdims=True)}
            dA2 = dZ3 @ P["W3"].T
            back1, back2 = how.backward_masks
            if use_dropout and back2 == "fresh":
                M2 = _mask(rng, A2.shape, keep_prob)
            if use_dropout and back2 != "none":
                dA2 = dA2 * M2
            dZ2 = dA2 * _relu_derivative(Z2, how)
            g["W2"], g["b2"] = A1.T @ dZ2, dZ2.sum(axis=0, keepdims=True)
            dA1 = dZ2 @ P["W2"].T
            if use_dropout and back1 == "fresh":
                M1 = _mask(rng, A1.shape, keep_prob)
            if use_dropout and back1 != "none":
                dA1 = dA1 * M1
            dZ1 = dA1 * _relu_derivative(Z1, how)
            g["W1"], g["b1"] = Xb.T @ dZ1, dZ1.sum(axis=0, keepdims=True)
            if lam > 0 and how.l2_grads != "none":
                for k in regularized:
                    g[k] = g[k] + 2 * lam * P[k]
            P = {k: P[k] - lr * g[k] for k in P}
        if how.weighted_loss:
            losses.append(float(np.average(batch_losses, weights=batch_sizes)))
        else:
            losses.append(float(np.mean(batch_losses)))
    return P, losses, rng.bit_generator.state


def _params_match(actual: dict[str, Any], expected: dict[str, np.ndarray]) -> bool:
    return all(_matches(actual.get(k), v) for k, v in expected.items())


def _applicable(how: _Training, settings: dict[str, Any]) -> bool:
    """Whether a variant can differ from the contract under these settings."""
    lam = settings.get("lambda_", 0.0)
    dropout = settings.get("keep_prob", 1.0) < 1
    if how.l2_grads != "weights" or not how.penalty_in_loss:
        return lam > 0
    if not how.dropout or how.backward_masks != ("same", "same"):
        return dropout
    return True


def train_causes(
    params: dict[str, np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    settings: dict[str, Any],
    state: dict,
    result_params: dict[str, Any],
    result_loss: Iterable[Any] | None = None,
    state_after: dict | None = None,
) -> tuple[str, str]:
    """Why the student's ``train_mlp`` result differs from the contract's, as ``(known,
    general)``: ``known`` names the common mistake that reproduces the result exactly ("" if
    none does), ``general`` is what can be said otherwise (the random draws, the rule of the
    history); both are "" when the result is right.

    Args:
        params, X, Y: the inputs of the call.
        settings: the keyword arguments of the call other than ``rng``.
        state: the generator's ``bit_generator.state`` before the call.
        result_params: the parameters the submission returned (arrays checked already).
        result_loss: the submission's ``history["loss"]``, when the loss is being checked.
        state_after: the generator's state after the call, if known.
    """
    expected_params, expected_loss, expected_after = _train(params, X, Y, settings, state,
                                                            _Training())
    if not _params_match(result_params, expected_params):
        for how, sentence in _TRAINING_CAUSES:
            if _applicable(how, settings) and _params_match(
                    result_params, _train(params, X, Y, settings, state, how)[0]):
                return sentence, ""
        return "", _explain.training_draws(state, state_after, expected_after)
    if result_loss is not None and not _matches(list(result_loss), expected_loss):
        for how, sentence in _HISTORY_CAUSES:
            if _applicable(how, settings) and _matches(
                    list(result_loss), _train(params, X, Y, settings, state, how)[1]):
                return sentence, ""
        return "", _explain.HISTORY_RULE
    return "", ""


def train_cause(*args: Any) -> str:
    """The one sentence of :func:`train_causes`: the known mistake, else the general one."""
    known, general = train_causes(*args)
    return known or general


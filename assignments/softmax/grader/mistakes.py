"""The softmax assignment's mistake catalogue: the usual wrong versions of each function,
recomputed on the test's own inputs, and the sentence that names the one a result matches.

The hidden suite calls these only after a mismatch; sentences name the mistake and the
rule, never the inputs or expected values.
"""

from __future__ import annotations

import numpy as np

from assignments.softmax.grader import reference


def _same(actual: object, expected: np.ndarray) -> bool:
    try:
        return bool(np.allclose(np.asarray(actual, dtype=float), expected, rtol=1e-6,
                                atol=1e-9))
    except (TypeError, ValueError):
        return False


def softmax_variants(Z: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """The usual wrong softmaxes of ``Z``, each with the sentence that names it."""
    with np.errstate(all="ignore"):
        columns = np.exp(Z - Z.max(axis=0, keepdims=True))
        columns = columns / columns.sum(axis=0, keepdims=True)
        total = np.exp(Z) / np.exp(Z).sum()
    return [(columns, "each column sums to 1: the softmax is taken over axis 0; it must be "
                      "taken over each row (axis=1, keepdims=True)."),
            (total, "the whole matrix sums to 1: normalise each row by its own sum "
                    "(axis=1, keepdims=True).")]


def softmax_cause(Z: np.ndarray, P: object) -> str:
    """Why ``P`` is not the softmax of ``Z``, when it is a known mistake, else ""."""
    return next((sentence for value, sentence in softmax_variants(Z) if _same(P, value)), "")


def overflow_cause(P: object) -> str:
    """The sentence for a softmax that overflows on large scores."""
    values = np.asarray(P, dtype=float) if isinstance(P, np.ndarray) else None
    if values is not None and not np.all(np.isfinite(values)):
        return ("exp of large scores overflows: subtract each row's maximum before exp "
                "(the result does not change, the overflow goes away).")
    return ""


def cross_entropy_variants(P: np.ndarray, Y: np.ndarray) -> list[tuple[float, str]]:
    """The usual wrong cross-entropies of ``P`` against ``Y``, each with its sentence."""
    total = float(-np.sum(Y * np.log(P)))
    return [(total, "the loss is summed over the rows; it is their mean (divide by the rows)."),
            (total / P.size, "the loss is divided by every entry of P; divide by the number of "
                             "rows only."),
            (-total / P.shape[0], "the sign is flipped: the loss is -sum(Y * log(P)) / n, a "
                                  "positive number.")]


def cross_entropy_cause(P: np.ndarray, Y: np.ndarray, value: object) -> str:
    """Why ``value`` is not the mean cross-entropy, when it is a known mistake, else ""."""
    return next((sentence for wrong, sentence in cross_entropy_variants(P, Y)
                 if _same(value, np.array(wrong))), "")


def train_variants(X: np.ndarray, Y: np.ndarray, settings: dict) -> list[tuple[np.ndarray, str]]:
    """The weights W of the usual wrong training loops, each with the sentence naming it."""
    lr, epochs = settings["lr"], settings["epochs"]
    variants = []
    for mistake, sentence in (
            (1.0 / X.shape[0], "the gradient (P - Y) is not divided by the number of rows."),
            (-1.0, "the step goes up the gradient: subtract lr times the gradient.")):
        W = np.zeros((X.shape[1], Y.shape[1]))
        b = np.zeros((1, Y.shape[1]))
        with np.errstate(all="ignore"):
            for _ in range(epochs):
                dZ = (reference.softmax(X @ W + b) - Y) / X.shape[0] / mistake
                W = W - lr * (X.T @ dZ)
                b = b - lr * dZ.sum(axis=0, keepdims=True)
        variants.append((W, sentence))
    return variants


def train_cause(X: np.ndarray, Y: np.ndarray, settings: dict, params: object) -> str:
    """Which known training mistake gives ``params``, when one does, else ""."""
    if not isinstance(params, dict):
        return ""
    return next((sentence for W, sentence in train_variants(X, Y, settings)
                 if _same(params.get("W"), W)), "")

"""Softmax assignment: softmax, cross-entropy and a softmax classifier trained on digits.

Fill in the three functions below where they raise NotImplementedError. Keep their
names, parameters and return values as they are: the grader calls them exactly as
written here, with inputs you do not see. Each docstring states what the function
must do; softmax.ipynb (hand in either file) explains the math behind them.

Use numpy only; you may define helper functions of your own.

Check your work with the public checks, from this folder:

    python check.py softmax.py

(or, where the whole grading kit is installed, autograder check softmax.py).
SPEC.md, next to this file, states the same rules in one place.
"""

from __future__ import annotations

import numpy as np


def softmax(Z: np.ndarray) -> np.ndarray:
    """Return the row-wise softmax of the scores ``Z``.

    Args:
        Z: a 2-D float array of shape (n, k): one row of k class scores per example.
            Never modified.

    Returns:
        A float64 array of shape (n, k) whose row i is ``exp(Z[i]) / sum(exp(Z[i]))``:
        every entry is in (0, 1] and every row sums to 1. Compute it on ``Z`` minus each
        row's maximum (the result is the same, and scores such as 1000 do not overflow
        ``np.exp``).
    """
    raise NotImplementedError(
        "softmax: subtract each row's maximum from Z (axis=1, keepdims=True), take np.exp, "
        "and divide each row by its own sum (axis=1, keepdims=True)."
    )


def cross_entropy(P: np.ndarray, Y: np.ndarray) -> float:
    """Return the mean cross-entropy of the probabilities ``P`` against the labels ``Y``.

    Args:
        P: predicted probabilities, shape (n, k), every entry > 0 (a softmax output).
        Y: one-hot labels, shape (n, k): row i has a 1 in the column of example i's class.
            Neither array is modified.

    Returns:
        ``-sum(Y * log(P)) / n`` as a Python ``float`` (not a numpy scalar): the mean over
        the n rows, not the sum, and not divided by every entry of ``P``.
    """
    raise NotImplementedError(
        "cross_entropy: return float(-sum(Y * log(P)) / n), where n = P.shape[0] is the "
        "number of rows (the mean over examples, a positive Python float)."
    )


def train_softmax(X: np.ndarray, Y: np.ndarray, *, lr: float = 0.5,
                  epochs: int = 100) -> tuple[dict[str, np.ndarray], list[float]]:
    """Train a softmax classifier ``P = softmax(X @ W + b)`` by full-batch gradient descent.

    Args:
        X: inputs, shape (n, d). Y: one-hot labels, shape (n, k). Neither is modified.
        lr: the learning rate. epochs: the number of gradient steps (each uses all n rows).

    Returns:
        ``(params, losses)``. ``params`` is ``{"W": W, "b": b}`` with W of shape (d, k) and
        b of shape (1, k), both starting from zeros. Each epoch: compute ``P`` with your
        ``softmax``, append ``cross_entropy(P, Y)`` to ``losses`` (the loss before the
        step), then take one step down the gradient of the mean cross-entropy, whose
        gradient with respect to the scores is ``dZ = (P - Y) / n``: W decreases by
        ``lr`` times X transposed times dZ, b by ``lr`` times the column sums of dZ
        (shape (1, k)). ``losses`` is a list of ``epochs`` Python floats. Nothing random
        is drawn: the same inputs always give the same result.
    """
    raise NotImplementedError(
        "train_softmax: start W and b at zeros; each epoch compute P with softmax, "
        "append cross_entropy(P, Y), then step with dZ = (P - Y) / n: subtract lr times "
        "X transposed times dZ from W, and lr times dZ summed over its rows from b. "
        "Return (params, losses)."
    )

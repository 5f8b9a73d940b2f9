"""Reference solution of the softmax assignment, written to its specification,
``assignments/softmax/SPEC.md`` (trusted side only, never in a sandbox).

The student stub and notebook are generated from this file (``python -m autograder.stubgen``)
by replacing each region between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` with
``raise NotImplementedError``.
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
    # BEGIN SOLUTION
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)
    # END SOLUTION


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
    # BEGIN SOLUTION
    return float(-np.sum(Y * np.log(P)) / P.shape[0])
    # END SOLUTION


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
    # BEGIN SOLUTION
    W = np.zeros((X.shape[1], Y.shape[1]))
    b = np.zeros((1, Y.shape[1]))
    losses = []
    for _ in range(epochs):
        P = softmax(X @ W + b)
        losses.append(cross_entropy(P, Y))
        dZ = (P - Y) / X.shape[0]
        W = W - lr * (X.T @ dZ)
        b = b - lr * dZ.sum(axis=0, keepdims=True)
    return {"W": W, "b": b}, losses
    # END SOLUTION

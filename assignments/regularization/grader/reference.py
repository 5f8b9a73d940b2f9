"""Reference solution of the regularization assignment, written to the specification,
``assignments/regularization/SPEC.md``.

This file is the single source of the assignment: the student stubs and notebook
are generated from it (``python -m autograder.stubgen``) by replacing each region
between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` with ``raise NotImplementedError``.
It never enters a grading sandbox.
"""

from __future__ import annotations

import numpy as np

from nn_helpers import relu, softmax


def l2_regularization(
    weights: list[np.ndarray], lambda_: float
) -> tuple[float, list[np.ndarray]]:
    """Return the L2 penalty of ``weights`` and its gradient with respect to each matrix.

    Args:
        weights: list of 2-D float arrays (weight matrices only, never biases).
        lambda_: regularization strength, for example 0.01.

    Returns:
        ``(penalty, grads)``:

        - ``penalty`` is ``lambda_ * sum_k sum(W_k ** 2)`` as a Python ``float`` (wrap it
          in ``float(...)``: float32 weights give a numpy.float32, which is not one;
          numpy.float64 is a subclass of float and counts);
        - ``grads`` is a list, one entry per matrix in the order of ``weights``:
          ``grads[k] = 2 * lambda_ * W_k``, with the shape and dtype of ``W_k`` (float32
          weights give float32 gradients).

        An empty list gives ``(0.0, [])``. The list and its arrays are not modified.
    """
    # BEGIN SOLUTION
    penalty = 0.0
    grads = []
    for W in weights:
        penalty += float(np.sum(W * W))
        grads.append((2 * lambda_ * W).astype(W.dtype, copy=False))
    return float(lambda_ * penalty), grads
    # END SOLUTION


def dropout(
    A: np.ndarray,
    p: float,
    training: bool = True,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Apply inverted dropout to the activations ``A``; ``p`` is the KEEP probability.

    Args:
        A: activations, any shape, float dtype. Never modified in place.
        p: probability of keeping each unit, ``0 < p <= 1``.
        training: when False, dropout is the identity and draws no random numbers.
        rng: a ``numpy.random.Generator``; None means ``numpy.random.default_rng()``.

    Returns:
        ``(out, mask)``. In training: draw ``keep = rng.random(A.shape) < p``, exactly
        once per call and nothing else from ``rng``; ``mask = keep / p`` in A's float
        dtype (its entries are 0 and ``1/p``); ``out = A * mask``. Dividing by ``p`` keeps
        the expected activation the same as without dropout, so nothing changes at test
        time. Not training: ``(A, None)``, with no random numbers drawn.

    Raises:
        ValueError: if ``p`` is not in ``(0, 1]``; the message names the value received.
    """
    # BEGIN SOLUTION
    if not 0 < p <= 1:
        raise ValueError(f"keep probability p must be in (0, 1], got {p!r}")
    if not training:
        return A, None
    if rng is None:
        rng = np.random.default_rng()
    keep = rng.random(A.shape) < p
    mask = (keep / p).astype(A.dtype, copy=False)
    return A * mask, mask
    # END SOLUTION


def train_mlp(
    params: dict[str, np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    *,
    lr: float = 0.1,
    epochs: int = 20,
    batch_size: int = 64,
    lambda_: float = 0.0,
    keep_prob: float = 1.0,
    rng: np.random.Generator | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, list[float]]]:
    """Train the 3-layer MLP with mini-batch SGD, optional L2 penalty and dropout.

    Args:
        params: ``W1 (d,h1)``, ``b1 (1,h1)``, ``W2 (h1,h2)``, ``b2 (1,h2)``,
            ``W3 (h2,c)``, ``b3 (1,c)``. Not modified: neither this dict nor its
            arrays change (rebinding its keys counts as a change); the trained
            parameters are returned in a new dict.
        X: inputs, shape ``(n, d)``.
        Y: one-hot labels, shape ``(n, c)``.
        lr, epochs, batch_size: SGD settings.
        lambda_: L2 strength on W1, W2, W3 (0 turns it off).
        keep_prob: dropout keep probability after each hidden layer (1 turns it off).
        rng: a ``numpy.random.Generator``; None means ``numpy.random.default_rng()``.

    Each epoch starts with ``order = rng.permutation(n)``; the mini-batches are
    consecutive slices of ``order`` of ``batch_size`` rows (the last may be smaller),
    in that order. For a batch ``X, Y`` of ``m`` rows:

    - Forward: ``Z1 = X @ W1 + b1``, ``A1 = relu(Z1)``, then if ``keep_prob < 1``
      ``A1, M1 = dropout(A1, keep_prob, True, rng)``; ``Z2 = A1 @ W2 + b2``,
      ``A2 = relu(Z2)``, then if ``keep_prob < 1`` ``A2, M2 = dropout(A2, keep_prob,
      True, rng)``; ``Z3 = A2 @ W3 + b3``, ``A3 = softmax(Z3)``.
    - Random numbers, in this order only: one permutation per epoch, then per batch
      the dropout draw for A1 and the one for A2 (none when ``keep_prob == 1``: then
      dropout is not called at all).
    - Loss: ``-mean(sum(Y * log(A3 + 1e-15), axis=1))``, plus the L2 penalty of
      ``[W1, W2, W3]`` when ``lambda_ > 0``.
    - Backward, with A1 and A2 the values after dropout: ``dZ3 = (A3 - Y) / m``;
      ``gW3 = A2.T @ dZ3``; ``gb3 = dZ3.sum(0, keepdims=True)``; ``dA2 = dZ3 @ W3.T``,
      times ``M2`` when dropout is on; ``dZ2 = dA2 * (Z2 > 0)``; ``gW2 = A1.T @ dZ2``;
      ``gb2`` likewise; ``dA1 = dZ2 @ W2.T``, times ``M1`` when dropout is on;
      ``dZ1 = dA1 * (Z1 > 0)``; ``gW1 = X.T @ dZ1``; ``gb1`` likewise.
    - When ``lambda_ > 0``, add the L2 gradients to ``gW1, gW2, gW3`` (never biases).
    - Update all six: ``param -= lr * grad``.

    Returns:
        ``(params, history)``: the trained parameters and ``{"loss": [...]}``, one
        Python float per epoch, the plain mean of that epoch's batch losses.
    """
    # BEGIN SOLUTION
    if rng is None:
        rng = np.random.default_rng()
    P = {name: np.array(value, copy=True) for name, value in params.items()}
    n = X.shape[0]
    use_dropout = keep_prob < 1
    history: dict[str, list[float]] = {"loss": []}
    for _ in range(epochs):
        order = rng.permutation(n)
        batch_losses = []
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            Xb, Yb = X[idx], Y[idx]
            m = Xb.shape[0]
            Z1 = Xb @ P["W1"] + P["b1"]
            A1 = relu(Z1)
            if use_dropout:
                A1, M1 = dropout(A1, keep_prob, True, rng)
            Z2 = A1 @ P["W2"] + P["b2"]
            A2 = relu(Z2)
            if use_dropout:
                A2, M2 = dropout(A2, keep_prob, True, rng)
            Z3 = A2 @ P["W3"] + P["b3"]
            A3 = softmax(Z3)
            loss = -np.mean(np.sum(Yb * np.log(A3 + 1e-15), axis=1))
            if lambda_ > 0:
                penalty, l2_grads = l2_regularization([P["W1"], P["W2"], P["W3"]], lambda_)
                loss += penalty
            batch_losses.append(float(loss))
            dZ3 = (A3 - Yb) / m
            grads = {"W3": A2.T @ dZ3, "b3": dZ3.sum(axis=0, keepdims=True)}
            dA2 = dZ3 @ P["W3"].T
            if use_dropout:
                dA2 = dA2 * M2
            dZ2 = dA2 * (Z2 > 0)
            grads["W2"] = A1.T @ dZ2
            grads["b2"] = dZ2.sum(axis=0, keepdims=True)
            dA1 = dZ2 @ P["W2"].T
            if use_dropout:
                dA1 = dA1 * M1
            dZ1 = dA1 * (Z1 > 0)
            grads["W1"] = Xb.T @ dZ1
            grads["b1"] = dZ1.sum(axis=0, keepdims=True)
            if lambda_ > 0:
                for name, g in zip(("W1", "W2", "W3"), l2_grads, strict=True):
                    grads[name] = grads[name] + g
            for name in P:
                P[name] = P[name] - lr * grads[name]
        history["loss"].append(float(np.mean(batch_losses)))
    return P, history
    # END SOLUTION

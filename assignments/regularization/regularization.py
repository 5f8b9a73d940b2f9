"""Regularization assignment: an L2 penalty, inverted dropout and an MLP trained with both.

Fill in the three functions below where they raise NotImplementedError. Keep their
names, parameters and return values as they are: the grader calls them exactly as
written here, with inputs you do not see. Each docstring states what the function
must do; regularization.ipynb (hand in either file) explains the math behind them.

You may import numpy, scipy and nn_helpers (shipped next to this file), and define
helper functions of your own.

Check your work with the public checks, from this folder:

    python check.py regularization.py

(or, where the whole grading kit is installed, autograder check regularization.py).
SPEC.md, next to this file, states the same rules in one place.
"""

from __future__ import annotations

import numpy as np

from nn_helpers import relu, softmax  # noqa: F401 (used in train_mlp)


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
    raise NotImplementedError(
        "l2_regularization: return (penalty, grads) where penalty is the Python float "
        "lambda_ * (sum of W ** 2 over every matrix) and grads[k] is 2 * lambda_ * weights[k]."
    )


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
    raise NotImplementedError(
        "dropout: raise ValueError unless 0 < p <= 1; when training, draw "
        "keep = rng.random(A.shape) < p once, set mask = keep / p (A's dtype) and return "
        "(A * mask, mask); when not training, return (A, None)."
    )


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
    raise NotImplementedError(
        "train_mlp: copy params, then for each epoch shuffle with rng.permutation(n), run "
        "forward (relu, dropout, softmax), loss (+ L2 penalty), backward (reuse the dropout "
        "masks) and an SGD step per mini-batch; return (params, {'loss': [one per epoch]})."
    )

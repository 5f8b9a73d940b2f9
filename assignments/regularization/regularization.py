"""Regularization assignment: an L2 penalty, inverted dropout and an MLP trained with both.

Fill in the three functions below where they raise NotImplementedError. Keep their
names, parameters and return values as they are: the grader calls them exactly as
written here, with inputs you do not see. Each docstring states what the function
must do; regularization.ipynb (hand in either file) explains the math behind them.

You may import numpy, scipy and nn_helpers (shipped next to this file), and define
helper functions of your own.

Check your work with the public tests, from this folder:

    autograder check regularization.py
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
        ``(penalty, grads)``: ``penalty`` is the Python float
        ``lambda_ * sum_k sum(W_k ** 2)``; ``grads[k]`` is ``2 * lambda_ * W_k`` with the
        shape and dtype of ``W_k``. An empty list gives ``(0.0, [])``.
        Neither the list nor its arrays are modified.
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
        A: activations, any shape, float dtype.
        p: probability of keeping each unit, ``0 < p <= 1``.
        training: when False, dropout is the identity and draws no random numbers.
        rng: a ``numpy.random.Generator``; None means ``numpy.random.default_rng()``.

    Returns:
        ``(out, mask)``. In training, ``keep = rng.random(A.shape) < p`` (one draw per
        call), ``mask = keep / p`` in A's float dtype and ``out = A * mask``.
        Not training: ``(A, None)``. ``A`` is never modified in place.

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
            ``W3 (h2,c)``, ``b3 (1,c)``. Neither this dict nor its arrays are modified
            (rebinding its keys counts as modifying it): the trained parameters are
            returned in a new dict.
        X: inputs, shape ``(n, d)``.
        Y: one-hot labels, shape ``(n, c)``.
        lr, epochs, batch_size: SGD settings.
        lambda_: L2 strength on W1, W2, W3 (0 turns it off).
        keep_prob: dropout keep probability after each hidden layer (1 turns it off).
        rng: a ``numpy.random.Generator``; None means ``numpy.random.default_rng()``.

    Returns:
        ``(params, history)``: the trained parameters and ``{"loss": [...]}``, one
        Python float per epoch, the plain mean of that epoch's batch losses.
    """
    raise NotImplementedError(
        "train_mlp: copy params, then for each epoch shuffle with rng.permutation(n), run "
        "forward (relu, dropout, softmax), loss (+ L2 penalty), backward (reuse the dropout "
        "masks) and an SGD step per mini-batch; return (params, {'loss': [one per epoch]})."
    )

"""Correct: a folder submission whose train_mlp uses its own helper module mlp_steps.py."""

import numpy as np

from mlp_steps import backward, cross_entropy_loss, forward


def l2_regularization(weights, lambda_):
    penalty = 0.0
    for W in weights:
        penalty += float((W ** 2).sum())
    return lambda_ * penalty, [2 * lambda_ * W for W in weights]


def dropout(A, p, training=True, rng=None):
    if p <= 0 or p > 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    if not training:
        return A, None
    if rng is None:
        rng = np.random.default_rng()
    mask = ((rng.random(A.shape) < p) / p).astype(A.dtype)
    return A * mask, mask


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
              keep_prob=1.0, rng=None):
    if rng is None:
        rng = np.random.default_rng()
    P = {k: v.copy() for k, v in params.items()}

    def drop(A):
        if keep_prob < 1:
            return dropout(A, keep_prob, True, rng)
        return A, None

    history = {"loss": []}
    n = X.shape[0]
    for _ in range(epochs):
        order = rng.permutation(n)
        losses = []
        for s in range(0, n, batch_size):
            idx = order[s:s + batch_size]
            A3, cache = forward(P, X[idx], drop)
            loss = cross_entropy_loss(A3, Y[idx])
            grads = backward(P, X[idx], Y[idx], A3, cache)
            if lambda_ > 0:
                penalty, reg = l2_regularization([P["W1"], P["W2"], P["W3"]], lambda_)
                loss += penalty
                for k, g in zip(("W1", "W2", "W3"), reg):
                    grads[k] = grads[k] + g
            losses.append(loss)
            P = {k: P[k] - lr * grads[k] for k in P}
        history["loss"].append(float(np.mean(losses)))
    return P, history

"""train_mlp: ReLU derivative taken as (Z >= 0), so units with Z exactly 0 pass gradient."""

from __future__ import annotations

import numpy as np

from nn_helpers import relu, softmax


def l2_regularization(weights, lambda_):
    penalty = float(lambda_ * sum(np.sum(W ** 2) for W in weights))
    grads = [2 * lambda_ * W for W in weights]
    return penalty, grads


def dropout(A, p, training=True, rng=None):
    if not (0 < p <= 1):
        raise ValueError(f"p must satisfy 0 < p <= 1, got {p}")
    if not training:
        return A, None
    if rng is None:
        rng = np.random.default_rng()
    keep = rng.random(A.shape) < p
    mask = (keep / p).astype(A.dtype)
    out = A * mask
    return out, mask


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
              keep_prob=1.0, rng=None):
    if rng is None:
        rng = np.random.default_rng()
    P = {k: np.array(v, copy=True) for k, v in params.items()}
    n = X.shape[0]
    history = {"loss": []}
    for _epoch in range(epochs):
        order = rng.permutation(n)
        batch_losses = []
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            Xb, Yb = X[idx], Y[idx]
            m = Xb.shape[0]
            W1, b1, W2, b2, W3, b3 = (P[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
            Z1 = Xb @ W1 + b1
            A1 = relu(Z1)
            if keep_prob < 1:
                A1, M1 = dropout(A1, keep_prob, True, rng)
            Z2 = A1 @ W2 + b2
            A2 = relu(Z2)
            if keep_prob < 1:
                A2, M2 = dropout(A2, keep_prob, True, rng)
            Z3 = A2 @ W3 + b3
            A3 = softmax(Z3)
            loss = -np.mean(np.sum(Yb * np.log(A3 + 1e-15), axis=1))
            if lambda_ > 0:
                pen, l2g = l2_regularization([W1, W2, W3], lambda_)
                loss = loss + pen
            batch_losses.append(float(loss))
            dZ3 = (A3 - Yb) / m
            gW3 = A2.T @ dZ3
            gb3 = dZ3.sum(0, keepdims=True)
            dA2 = dZ3 @ W3.T
            if keep_prob < 1:
                dA2 = dA2 * M2
            dZ2 = dA2 * (Z2 >= 0)
            gW2 = A1.T @ dZ2
            gb2 = dZ2.sum(0, keepdims=True)
            dA1 = dZ2 @ W2.T
            if keep_prob < 1:
                dA1 = dA1 * M1
            dZ1 = dA1 * (Z1 >= 0)
            gW1 = Xb.T @ dZ1
            gb1 = dZ1.sum(0, keepdims=True)
            if lambda_ > 0:
                gW1 = gW1 + l2g[0]
                gW2 = gW2 + l2g[1]
                gW3 = gW3 + l2g[2]
            P["W1"] = W1 - lr * gW1
            P["b1"] = b1 - lr * gb1
            P["W2"] = W2 - lr * gW2
            P["b2"] = b2 - lr * gb2
            P["W3"] = W3 - lr * gW3
            P["b3"] = b3 - lr * gb3
        history["loss"].append(float(np.mean(batch_losses)))
    return P, history

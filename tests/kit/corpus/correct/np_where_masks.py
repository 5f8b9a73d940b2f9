"""Correct: masks, ReLU derivatives and the eval branch written with np.where."""

import numpy as np

from nn_helpers import relu, softmax


def l2_regularization(weights, lambda_):
    if len(weights) == 0:
        return 0.0, []
    total = sum(float(np.sum(W ** 2)) for W in weights)
    return float(lambda_ * total), [2.0 * lambda_ * W for W in weights]


def dropout(A, p, training=True, rng=None):
    if p > 1 or p <= 0:
        raise ValueError(f"invalid keep probability {p}")
    if not training:
        return A, None
    if rng is None:
        rng = np.random.default_rng()
    draws = rng.random(A.shape)
    mask = np.where(draws < p, 1.0 / p, 0.0).astype(A.dtype)
    return np.where(mask > 0, A * mask, 0.0).astype(A.dtype), mask


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
              keep_prob=1.0, rng=None):
    if rng is None:
        rng = np.random.default_rng()
    P = {k: params[k] + 0.0 for k in params}
    n = X.shape[0]
    loss_per_epoch = []
    for _ in range(epochs):
        order = rng.permutation(n)
        acc = []
        for lo in range(0, n, batch_size):
            ix = order[lo:lo + batch_size]
            Xb, Yb = X[ix], Y[ix]
            m = Xb.shape[0]
            Z1 = Xb @ P["W1"] + P["b1"]
            A1 = relu(Z1)
            if keep_prob < 1.0:
                A1, M1 = dropout(A1, keep_prob, True, rng)
            Z2 = A1 @ P["W2"] + P["b2"]
            A2 = relu(Z2)
            if keep_prob < 1.0:
                A2, M2 = dropout(A2, keep_prob, True, rng)
            A3 = softmax(A2 @ P["W3"] + P["b3"])
            L = -np.mean(np.sum(Yb * np.log(A3 + 1e-15), axis=1))
            if lambda_ > 0:
                pen, rg = l2_regularization([P["W1"], P["W2"], P["W3"]], lambda_)
                L = L + pen
            acc.append(float(L))
            dZ3 = (A3 - Yb) / m
            dA2 = dZ3 @ P["W3"].T
            if keep_prob < 1.0:
                dA2 = dA2 * M2
            dZ2 = np.where(Z2 > 0, dA2, 0.0)
            dA1 = dZ2 @ P["W2"].T
            if keep_prob < 1.0:
                dA1 = dA1 * M1
            dZ1 = np.where(Z1 > 0, dA1, 0.0)
            g = {
                "W1": Xb.T @ dZ1, "b1": dZ1.sum(axis=0, keepdims=True),
                "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0, keepdims=True),
                "W3": A2.T @ dZ3, "b3": dZ3.sum(axis=0, keepdims=True),
            }
            if lambda_ > 0:
                g["W1"], g["W2"], g["W3"] = g["W1"] + rg[0], g["W2"] + rg[1], g["W3"] + rg[2]
            for k in P:
                P[k] = P[k] - lr * g[k]
        loss_per_epoch.append(float(np.mean(acc)))
    return P, {"loss": loss_per_epoch}

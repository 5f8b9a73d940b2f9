"""Faulty: the penalty is a numpy scalar for float32 weights (numpy.float32 is no Python
float; for float64 weights numpy.float64 is one, so the lesson's matrices do not show it)."""

import numpy as np

from nn_helpers import relu, softmax


def l2_regularization(weights, lambda_):
    if not weights:
        return 0.0, []
    penalty = sum(np.sum(W * W) for W in weights)
    return lambda_ * penalty, [2 * lambda_ * W for W in weights]


def dropout(A, p, training=True, rng=None):
    if not 0 < p <= 1:
        raise ValueError(f"p must satisfy 0 < p <= 1; received {p!r}")
    if not training:
        return A, None
    if rng is None:
        rng = np.random.default_rng()
    keep = rng.random(size=A.shape) < p
    mask = np.divide(keep, p).astype(A.dtype, copy=False)
    out = np.multiply(A, mask, dtype=A.dtype)
    return out, mask


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
              keep_prob=1.0, rng=None):
    if rng is None:
        rng = np.random.default_rng()
    P = {name: np.array(value, dtype=value.dtype, copy=True) for name, value in params.items()}
    n = X.shape[0]
    dropping = keep_prob < 1
    history = {"loss": []}
    for _ in range(epochs):
        order = rng.permutation(n)
        total = 0.0
        count = 0
        for first in range(0, n, batch_size):
            idx = order[first:first + batch_size]
            Xb, Yb = X[idx], Y[idx]
            m = Xb.shape[0]
            Z1 = Xb @ P["W1"] + P["b1"]
            A1 = relu(Z1)
            if dropping:
                A1, M1 = dropout(A1, keep_prob, True, rng)
            Z2 = A1 @ P["W2"] + P["b2"]
            A2 = relu(Z2)
            if dropping:
                A2, M2 = dropout(A2, keep_prob, True, rng)
            A3 = softmax(A2 @ P["W3"] + P["b3"])
            loss = float(-np.mean(np.sum(Yb * np.log(A3 + 1e-15), axis=1)))
            if lambda_ > 0:
                penalty, reg = l2_regularization([P["W1"], P["W2"], P["W3"]], lambda_)
                loss += penalty
            total += loss
            count += 1
            dZ3 = (A3 - Yb) / m
            grads = {"W3": A2.T @ dZ3, "b3": dZ3.sum(axis=0, keepdims=True)}
            dA2 = dZ3 @ P["W3"].T
            if dropping:
                dA2 *= M2
            dZ2 = dA2 * (Z2 > 0)
            grads["W2"] = A1.T @ dZ2
            grads["b2"] = dZ2.sum(axis=0, keepdims=True)
            dA1 = dZ2 @ P["W2"].T
            if dropping:
                dA1 *= M1
            dZ1 = dA1 * (Z1 > 0)
            grads["W1"] = Xb.T @ dZ1
            grads["b1"] = dZ1.sum(axis=0, keepdims=True)
            if lambda_ > 0:
                grads["W1"] += reg[0]
                grads["W2"] += reg[1]
                grads["W3"] += reg[2]
            for name in P:
                P[name] = (P[name] - lr * grads[name]).astype(P[name].dtype, copy=False)
        history["loss"].append(total / count)
    return P, history

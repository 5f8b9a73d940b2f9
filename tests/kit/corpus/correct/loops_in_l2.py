"""Correct: l2_regularization with explicit Python loops (over the matrices and their rows)."""

import numpy as np

from nn_helpers import relu, softmax


def l2_regularization(weights, lambda_):
    total = 0.0
    grads = []
    for W in weights:
        g = np.empty_like(W)
        for i in range(W.shape[0]):
            row = W[i]
            total += float(row @ row)
            g[i] = 2 * lambda_ * row
        grads.append(g)
    return lambda_ * total, grads


def dropout(A, p, training=True, rng=None):
    if not (0 < p <= 1):
        raise ValueError("keep probability must be in (0, 1], got " + str(p))
    if training is False:
        return A, None
    rng = np.random.default_rng() if rng is None else rng
    u = rng.random(A.shape)
    mask = np.zeros_like(A)
    mask[u < p] = 1.0 / p
    return A * mask, mask


def _forward(P, X, keep_prob, rng):
    cache = {}
    cache["Z1"] = X @ P["W1"] + P["b1"]
    A1 = relu(cache["Z1"])
    cache["M1"] = None
    if keep_prob < 1:
        A1, cache["M1"] = dropout(A1, keep_prob, True, rng)
    cache["A1"] = A1
    cache["Z2"] = A1 @ P["W2"] + P["b2"]
    A2 = relu(cache["Z2"])
    cache["M2"] = None
    if keep_prob < 1:
        A2, cache["M2"] = dropout(A2, keep_prob, True, rng)
    cache["A2"] = A2
    return softmax(A2 @ P["W3"] + P["b3"]), cache


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
              keep_prob=1.0, rng=None):
    if rng is None:
        rng = np.random.default_rng()
    P = {}
    for key in params:
        P[key] = np.array(params[key])
    history = {"loss": []}
    n = len(X)
    for _ in range(epochs):
        perm = rng.permutation(n)
        epoch_losses = []
        start = 0
        while start < n:
            rows = perm[start:start + batch_size]
            start += batch_size
            xb, yb = X[rows], Y[rows]
            m = len(rows)
            A3, c = _forward(P, xb, keep_prob, rng)
            loss = -np.mean(np.sum(yb * np.log(A3 + 1e-15), axis=1))
            reg_grads = None
            if lambda_ > 0:
                pen, reg_grads = l2_regularization([P["W1"], P["W2"], P["W3"]], lambda_)
                loss += pen
            epoch_losses.append(loss)
            d3 = (A3 - yb) / m
            g = {"W3": c["A2"].T @ d3, "b3": d3.sum(axis=0, keepdims=True)}
            d = d3 @ P["W3"].T
            if c["M2"] is not None:
                d = d * c["M2"]
            d2 = d * (c["Z2"] > 0)
            g["W2"] = c["A1"].T @ d2
            g["b2"] = d2.sum(axis=0, keepdims=True)
            d = d2 @ P["W2"].T
            if c["M1"] is not None:
                d = d * c["M1"]
            d1 = d * (c["Z1"] > 0)
            g["W1"] = xb.T @ d1
            g["b1"] = d1.sum(axis=0, keepdims=True)
            if reg_grads is not None:
                for k, rg in zip(["W1", "W2", "W3"], reg_grads):
                    g[k] = g[k] + rg
            for key in P:
                P[key] = P[key] - lr * g[key]
        history["loss"].append(sum(epoch_losses) / len(epoch_losses))
    history["loss"] = [float(v) for v in history["loss"]]
    return P, history

"""Correct: in-place updates (-=, *=, out=) applied only to the function's own copies."""

import copy

import numpy as np

from nn_helpers import relu, softmax


def l2_regularization(weights, lambda_):
    penalty = 0.0
    grads = []
    for W in weights:
        g = W.copy()
        g *= 2 * lambda_
        grads.append(g)
        penalty += float(np.vdot(W, W))
    penalty *= lambda_
    return penalty, grads


def dropout(A, p, training=True, rng=None):
    if not (0.0 < p <= 1.0):
        raise ValueError(f"p={p} is not a valid keep probability; it must be in (0, 1]")
    if not training:
        return A, None
    if rng is None:
        rng = np.random.default_rng()
    mask = np.zeros(A.shape)
    mask[rng.random(A.shape) < p] = 1
    mask /= p
    mask = mask.astype(A.dtype, copy=False)
    out = A.copy()
    out *= mask
    return out, mask


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
              keep_prob=1.0, rng=None):
    if rng is None:
        rng = np.random.default_rng()
    P = copy.deepcopy(params)
    n = X.shape[0]
    history = {"loss": []}
    for _ in range(epochs):
        order = rng.permutation(n)
        losses = []
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            Xb, Yb = X[idx], Y[idx]
            m = Xb.shape[0]
            Z1 = Xb @ P["W1"]
            Z1 += P["b1"]
            A1 = relu(Z1)
            if keep_prob < 1:
                A1, M1 = dropout(A1, keep_prob, True, rng)
            Z2 = A1 @ P["W2"]
            Z2 += P["b2"]
            A2 = relu(Z2)
            if keep_prob < 1:
                A2, M2 = dropout(A2, keep_prob, True, rng)
            Z3 = A2 @ P["W3"]
            Z3 += P["b3"]
            A3 = softmax(Z3)
            loss = -np.mean(np.sum(Yb * np.log(A3 + 1e-15), axis=1))
            if lambda_ > 0:
                penalty, reg = l2_regularization([P["W1"], P["W2"], P["W3"]], lambda_)
                loss += penalty
            losses.append(float(loss))
            dZ3 = A3 - Yb
            dZ3 /= m
            gW3 = A2.T @ dZ3
            gb3 = dZ3.sum(axis=0, keepdims=True)
            dZ2 = dZ3 @ P["W3"].T
            if keep_prob < 1:
                dZ2 *= M2
            dZ2 *= Z2 > 0
            gW2 = A1.T @ dZ2
            gb2 = dZ2.sum(axis=0, keepdims=True)
            dZ1 = dZ2 @ P["W2"].T
            if keep_prob < 1:
                dZ1 *= M1
            dZ1 *= Z1 > 0
            gW1 = Xb.T @ dZ1
            gb1 = dZ1.sum(axis=0, keepdims=True)
            if lambda_ > 0:
                gW1 += reg[0]
                gW2 += reg[1]
                gW3 += reg[2]
            P["W1"] -= lr * gW1
            P["b1"] -= lr * gb1
            P["W2"] -= lr * gW2
            P["b2"] -= lr * gb2
            P["W3"] -= lr * gW3
            P["b3"] -= lr * gb3
        history["loss"].append(float(np.mean(losses)))
    return P, history

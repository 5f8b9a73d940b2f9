"""Attack: report random generator states whose numbers are -1 after each call (numpy raises OverflowError on them). The grader must reject them as the student's crash: dropout and train_mlp, which take a generator, lose their points; l2_regularization keeps its own; no grader error."""

import sys

protocol = sys.modules["__main__"].protocol  # the worker's own module, as it holds it

_encode = protocol.encode


def _bad_states(message, generators=None):
    if isinstance(message, dict) and message.get("generator_states"):
        negative = {"bit_generator": "PCG64", "state": {"state": -1, "inc": -1},
                    "has_uint32": 0, "uinteger": 0}
        message = {**message, "generator_states": [negative] * len(message["generator_states"])}
    return _encode(message, generators)


protocol.encode = _bad_states

import numpy as np

from nn_helpers import relu, softmax


def l2_regularization(weights, lambda_):
    penalty = 0.0
    grads = []
    for W in weights:
        penalty += np.sum(W ** 2)
        grads.append(2 * lambda_ * W)
    return float(lambda_ * penalty), grads


def dropout(A, p, training=True, rng=None):
    if p <= 0 or p > 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
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
    P = {k: v.copy() for k, v in params.items()}
    n = X.shape[0]
    history = {"loss": []}
    for epoch in range(epochs):
        order = rng.permutation(n)
        losses = []
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            Xb = X[idx]
            Yb = Y[idx]
            m = Xb.shape[0]

            # forward
            Z1 = Xb @ P["W1"] + P["b1"]
            A1 = relu(Z1)
            if keep_prob < 1:
                A1, M1 = dropout(A1, keep_prob, True, rng)
            Z2 = A1 @ P["W2"] + P["b2"]
            A2 = relu(Z2)
            if keep_prob < 1:
                A2, M2 = dropout(A2, keep_prob, True, rng)
            Z3 = A2 @ P["W3"] + P["b3"]
            A3 = softmax(Z3)

            loss = -np.mean(np.sum(Yb * np.log(A3 + 1e-15), axis=1))
            if lambda_ > 0:
                penalty, l2_grads = l2_regularization([P["W1"], P["W2"], P["W3"]], lambda_)
                loss = loss + penalty
            losses.append(float(loss))

            # backward
            dZ3 = (A3 - Yb) / m
            dW3 = A2.T @ dZ3
            db3 = np.sum(dZ3, axis=0, keepdims=True)
            dA2 = dZ3 @ P["W3"].T
            if keep_prob < 1:
                dA2 = dA2 * M2
            dZ2 = dA2 * (Z2 > 0)
            dW2 = A1.T @ dZ2
            db2 = np.sum(dZ2, axis=0, keepdims=True)
            dA1 = dZ2 @ P["W2"].T
            if keep_prob < 1:
                dA1 = dA1 * M1
            dZ1 = dA1 * (Z1 > 0)
            dW1 = Xb.T @ dZ1
            db1 = np.sum(dZ1, axis=0, keepdims=True)

            if lambda_ > 0:
                dW1 = dW1 + l2_grads[0]
                dW2 = dW2 + l2_grads[1]
                dW3 = dW3 + l2_grads[2]

            # update
            P["W1"] = P["W1"] - lr * dW1
            P["b1"] = P["b1"] - lr * db1
            P["W2"] = P["W2"] - lr * dW2
            P["b2"] = P["b2"] - lr * db2
            P["W3"] = P["W3"] - lr * dW3
            P["b3"] = P["b3"] - lr * db3
        history["loss"].append(float(np.mean(losses)))
    return P, history

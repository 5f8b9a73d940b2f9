"""Correct: the penalty is a numpy.float64 scalar (a subclass of Python float), grads via a list comprehension."""

import numpy as np

from nn_helpers import cross_entropy, relu, softmax


def l2_regularization(weights, lambda_):
    penalty = np.float64(lambda_) * np.float64(sum(float(np.sum(W * W)) for W in weights))
    return np.float64(penalty), [2 * lambda_ * W for W in weights]


def dropout(A, p, training=True, rng=None):
    if p <= 0 or p > 1:
        raise ValueError("p should be in (0, 1] but is %s" % p)
    if training:
        generator = np.random.default_rng() if rng is None else rng
        mask = ((generator.random(A.shape) < p) / p).astype(A.dtype)
        return A * mask, mask
    return A, None


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
              keep_prob=1.0, rng=None):
    rng = rng or np.random.default_rng()
    P = {k: np.copy(v) for k, v in params.items()}
    n = X.shape[0]
    history = {"loss": []}
    for _ in range(epochs):
        order = rng.permutation(n)
        batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
        batch_losses = np.zeros(len(batches))
        for b, idx in enumerate(batches):
            Xb, Yb = X[idx], Y[idx]
            Z1 = Xb @ P["W1"] + P["b1"]
            A1 = relu(Z1)
            M1 = M2 = 1.0
            if keep_prob < 1:
                A1, M1 = dropout(A1, keep_prob, training=True, rng=rng)
            Z2 = A1 @ P["W2"] + P["b2"]
            A2 = relu(Z2)
            if keep_prob < 1:
                A2, M2 = dropout(A2, keep_prob, training=True, rng=rng)
            A3 = softmax(A2 @ P["W3"] + P["b3"])
            batch_losses[b] = cross_entropy(A3, Yb)
            if lambda_ > 0:
                penalty, reg = l2_regularization([P["W1"], P["W2"], P["W3"]], lambda_)
                batch_losses[b] += penalty
            else:
                reg = [0.0, 0.0, 0.0]
            dZ3 = (A3 - Yb) / len(idx)
            dZ2 = (dZ3 @ P["W3"].T) * M2 * (Z2 > 0)
            dZ1 = (dZ2 @ P["W2"].T) * M1 * (Z1 > 0)
            grads = {
                "W3": A2.T @ dZ3 + reg[2], "b3": dZ3.sum(0, keepdims=True),
                "W2": A1.T @ dZ2 + reg[1], "b2": dZ2.sum(0, keepdims=True),
                "W1": Xb.T @ dZ1 + reg[0], "b1": dZ1.sum(0, keepdims=True),
            }
            P = {k: P[k] - lr * grads[k] for k in P}
        history["loss"].append(float(batch_losses.mean()))
    return P, history

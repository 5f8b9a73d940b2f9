"""Forward and backward steps of the 3-layer MLP, kept apart from regularization.py."""

import numpy as np

from nn_helpers import relu, softmax


def forward(P, X, drop):
    """drop(A) -> (A, mask) applies dropout or is the identity (mask None)."""
    Z1 = X @ P["W1"] + P["b1"]
    A1, M1 = drop(relu(Z1))
    Z2 = A1 @ P["W2"] + P["b2"]
    A2, M2 = drop(relu(Z2))
    A3 = softmax(A2 @ P["W3"] + P["b3"])
    return A3, {"Z1": Z1, "A1": A1, "M1": M1, "Z2": Z2, "A2": A2, "M2": M2}


def backward(P, X, Y, A3, cache):
    m = X.shape[0]
    dZ3 = (A3 - Y) / m
    grads = {"W3": cache["A2"].T @ dZ3, "b3": dZ3.sum(axis=0, keepdims=True)}
    dA2 = dZ3 @ P["W3"].T
    if cache["M2"] is not None:
        dA2 = dA2 * cache["M2"]
    dZ2 = dA2 * (cache["Z2"] > 0)
    grads["W2"] = cache["A1"].T @ dZ2
    grads["b2"] = dZ2.sum(axis=0, keepdims=True)
    dA1 = dZ2 @ P["W2"].T
    if cache["M1"] is not None:
        dA1 = dA1 * cache["M1"]
    dZ1 = dA1 * (cache["Z1"] > 0)
    grads["W1"] = X.T @ dZ1
    grads["b1"] = dZ1.sum(axis=0, keepdims=True)
    return grads


def cross_entropy_loss(A3, Y):
    return float(-np.mean(np.sum(Y * np.log(A3 + 1e-15), axis=1)))

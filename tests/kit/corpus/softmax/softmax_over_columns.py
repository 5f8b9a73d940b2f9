"""Faulty softmax: normalises over axis 0 (columns); cross_entropy and the training loop
are right and keep their points."""

import numpy as np


def softmax(Z):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def cross_entropy(P, Y):
    return float(-np.sum(Y * np.log(P)) / P.shape[0])


def train_softmax(X, Y, *, lr=0.5, epochs=100):
    W = np.zeros((X.shape[1], Y.shape[1]))
    b = np.zeros((1, Y.shape[1]))
    losses = []
    for _ in range(epochs):
        P = softmax(X @ W + b)
        losses.append(cross_entropy(P, Y))
        dZ = (P - Y) / X.shape[0]
        W = W - lr * X.T @ dZ
        b = b - lr * dZ.sum(axis=0, keepdims=True)
    return {"W": W, "b": b}, losses

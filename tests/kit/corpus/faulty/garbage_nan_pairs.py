"""Garbage: every function returns a pair of nans (or nan arrays)."""

import numpy as np


def l2_regularization(weights, lambda_):
    return float("nan"), [np.full_like(W, np.nan) for W in weights]


def dropout(A, p, training=True, rng=None):
    return np.full_like(A, np.nan), np.full_like(A, np.nan)


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0, keep_prob=1.0,
              rng=None):
    return {k: np.full_like(v, np.nan) for k, v in params.items()}, {"loss": [float("nan")] * epochs}

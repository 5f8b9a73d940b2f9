"""Garbage: every function returns None."""


def l2_regularization(weights, lambda_):
    return None


def dropout(A, p, training=True, rng=None):
    return None


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0, keep_prob=1.0,
              rng=None):
    return None

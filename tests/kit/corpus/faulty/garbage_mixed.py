"""Garbage: l2_regularization returns nan, dropout a string, train_mlp None."""


def l2_regularization(weights, lambda_):
    return float("nan")


def dropout(A, p, training=True, rng=None):
    return "dropout"


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0, keep_prob=1.0,
              rng=None):
    return None

"""Functions that compute nothing of the contract but return non-zero placeholders: an
l2_regularization whose penalty and gradients do not depend on the weights, a dropout that
refuses a bad p and is the identity in evaluation mode, a train_mlp that scales the
parameters and draws the right amount of random numbers. The l2 checks that a function
doing nothing would pass must not be earned."""
import numpy as np


def l2_regularization(weights, lambda_):
    # not the penalty: a constant placeholder that is zero only when lambda_ is
    return float(lambda_ * len(weights)), [np.full_like(W, lambda_) for W in weights]


def dropout(A, p, training=True, rng=None):
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    if not training:
        return A, None
    return A.copy(), np.ones_like(A)


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
              keep_prob=1.0, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    n = X.shape[0]
    h1, h2 = params["W1"].shape[1], params["W2"].shape[1]
    for _ in range(epochs):
        rng.permutation(n)
        if keep_prob < 1:
            for start in range(0, n, batch_size):
                m = min(batch_size, n - start)
                rng.random((m, h1))
                rng.random((m, h2))
    # no training: every parameter scaled by a constant per epoch
    return ({k: v * 1.01 ** epochs + 0.0 for k, v in params.items()},
            {"loss": [1.0] * epochs})

"""Attack: no algorithm at all (every function returns a well-formed do-nothing result). l2 returns a zero penalty and zero gradients, dropout only
checks p and returns A in evaluation mode (A and an all-ones mask otherwise), train_mlp
returns copies of the params and a constant loss history. Any points here are for doing nothing."""
import numpy as np


def l2_regularization(weights, lambda_):
    return 0.0, [np.zeros_like(W) for W in weights]


def dropout(A, p, training=True, rng=None):
    if p <= 0 or p > 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    if not training:
        return A, None
    return A * 1.0, np.ones_like(A)


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
              keep_prob=1.0, rng=None):
    return {k: v.copy() for k, v in params.items()}, {"loss": [1.0] * epochs}

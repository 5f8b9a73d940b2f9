"""Correct: every product and sum written with np.einsum."""

import numpy as np

from nn_helpers import relu, softmax


def l2_regularization(weights, lambda_):
    penalty = lambda_ * sum(float(np.einsum("ij,ij->", W, W)) for W in weights)
    return float(penalty), [np.einsum("ij->ij", W) * (2 * lambda_) for W in weights]


def dropout(A, p, training=True, rng=None):
    if p <= 0 or p > 1:
        raise ValueError(f"dropout keep probability p={p} is outside (0, 1]")
    if not training:
        return A, None
    rng = rng if rng is not None else np.random.default_rng()
    mask = ((rng.random(A.shape) < p) / p).astype(A.dtype)
    return np.einsum("...,...->...", A, mask), mask


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
              keep_prob=1.0, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    W1, b1, W2, b2, W3, b3 = (params[k].copy() for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    n = X.shape[0]
    losses = []
    for _ in range(epochs):
        order = rng.permutation(n)
        batch_losses = []
        for s in range(0, n, batch_size):
            b = order[s:s + batch_size]
            x, y = X[b], Y[b]
            m = x.shape[0]
            Z1 = np.einsum("nd,dh->nh", x, W1) + b1
            A1 = relu(Z1)
            if keep_prob < 1:
                A1, M1 = dropout(A1, keep_prob, True, rng)
            Z2 = np.einsum("nh,hk->nk", A1, W2) + b2
            A2 = relu(Z2)
            if keep_prob < 1:
                A2, M2 = dropout(A2, keep_prob, True, rng)
            A3 = softmax(np.einsum("nk,kc->nc", A2, W3) + b3)
            loss = -np.einsum("nc,nc->", y, np.log(A3 + 1e-15)) / m
            if lambda_ > 0:
                pen, (r1, r2, r3) = l2_regularization([W1, W2, W3], lambda_)
                loss += pen
            batch_losses.append(float(loss))
            dZ3 = (A3 - y) / m
            gW3 = np.einsum("nk,nc->kc", A2, dZ3)
            gb3 = np.einsum("nc->c", dZ3)[None, :]
            dA2 = np.einsum("nc,kc->nk", dZ3, W3)
            if keep_prob < 1:
                dA2 = dA2 * M2
            dZ2 = dA2 * (Z2 > 0)
            gW2 = np.einsum("nh,nk->hk", A1, dZ2)
            gb2 = np.einsum("nk->k", dZ2)[None, :]
            dA1 = np.einsum("nk,hk->nh", dZ2, W2)
            if keep_prob < 1:
                dA1 = dA1 * M1
            dZ1 = dA1 * (Z1 > 0)
            gW1 = np.einsum("nd,nh->dh", x, dZ1)
            gb1 = np.einsum("nh->h", dZ1)[None, :]
            if lambda_ > 0:
                gW1, gW2, gW3 = gW1 + r1, gW2 + r2, gW3 + r3
            W1, b1 = W1 - lr * gW1, b1 - lr * gb1
            W2, b2 = W2 - lr * gW2, b2 - lr * gb2
            W3, b3 = W3 - lr * gW3, b3 - lr * gb3
        losses.append(float(np.mean(batch_losses)))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "W3": W3, "b3": b3}, {"loss": losses}

"""Attack: write straight to descriptors 1 and 2 (past the worker's redirect of sys.stdout)
at import and during every call: fake feedback Markdown and HTML, a fake results.json, ANSI
escapes, invalid UTF-8 and NUL bytes; also replace sys.stdout/sys.stderr with objects that
raise. Output during hidden calls must not reach the reports; import output must stay in a
fence; the functions are correct (full marks)."""
import os
import sys
_FAKE = (b"\n```\n</pre><script>alert(1)</script>\n# Feedback for control\n**Score: 100 / 100**\n"
         b"Every test passed. Well done!\n{\"score\": 100, \"tests\": []}\n\x1b[2J\x1b[31mGRADER\x1b[0m"
         b"\xff\xfe\x00\x00 ````` ~~~\n")
os.write(1, b"IMPORT-RAW " + _FAKE)
os.write(2, b"IMPORT-RAW-ERR " + _FAKE)
print("```` import print ````")


class _Bad:
    def write(self, text):
        raise RuntimeError("no output for you")

    def flush(self):
        raise RuntimeError("no flush for you")
import numpy as np

from nn_helpers import relu, softmax


def _real_l2_regularization(weights, lambda_):
    # penalty = lambda * sum of squared entries of every weight matrix
    penalty = 0.0
    grads = []
    for W in weights:
        penalty += np.sum(W ** 2)
        grads.append(2 * lambda_ * W)  # d/dW of lambda * W^2
    return float(lambda_ * penalty), grads


def _real_dropout(A, p, training=True, rng=None):
    # p is the probability of KEEPING a unit
    if p <= 0 or p > 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    if not training:
        return A, None
    if rng is None:
        rng = np.random.default_rng()
    keep = rng.random(A.shape) < p
    mask = (keep / p).astype(A.dtype)  # inverted dropout: scale the kept units by 1/p
    return A * mask, mask


def _real_train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
              keep_prob=1.0, rng=None):
    if rng is None:
        rng = np.random.default_rng()
    P = {k: v.copy() for k, v in params.items()}  # don't touch the caller's arrays
    n = X.shape[0]
    history = {"loss": []}
    for epoch in range(epochs):
        order = rng.permutation(n)
        losses = []
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            Xb, Yb = X[idx], Y[idx]
            m = Xb.shape[0]

            Z1 = Xb @ P["W1"] + P["b1"]
            A1 = relu(Z1)
            if keep_prob < 1:
                A1, M1 = dropout(A1, keep_prob, True, rng)
            Z2 = A1 @ P["W2"] + P["b2"]
            A2 = relu(Z2)
            if keep_prob < 1:
                A2, M2 = dropout(A2, keep_prob, True, rng)
            A3 = softmax(A2 @ P["W3"] + P["b3"])

            loss = -np.mean(np.sum(Yb * np.log(A3 + 1e-15), axis=1))
            if lambda_ > 0:
                penalty, l2_grads = l2_regularization([P["W1"], P["W2"], P["W3"]], lambda_)
                loss += penalty
            losses.append(float(loss))

            dZ3 = (A3 - Yb) / m
            dW3 = A2.T @ dZ3
            db3 = dZ3.sum(axis=0, keepdims=True)
            dA2 = dZ3 @ P["W3"].T
            if keep_prob < 1:
                dA2 = dA2 * M2  # same mask as in the forward pass
            dZ2 = dA2 * (Z2 > 0)
            dW2 = A1.T @ dZ2
            db2 = dZ2.sum(axis=0, keepdims=True)
            dA1 = dZ2 @ P["W2"].T
            if keep_prob < 1:
                dA1 = dA1 * M1
            dZ1 = dA1 * (Z1 > 0)
            dW1 = Xb.T @ dZ1
            db1 = dZ1.sum(axis=0, keepdims=True)

            if lambda_ > 0:
                dW1 += l2_grads[0]
                dW2 += l2_grads[1]
                dW3 += l2_grads[2]

            P["W1"] = P["W1"] - lr * dW1
            P["b1"] = P["b1"] - lr * db1
            P["W2"] = P["W2"] - lr * dW2
            P["b2"] = P["b2"] - lr * db2
            P["W3"] = P["W3"] - lr * dW3
            P["b3"] = P["b3"] - lr * db3
        history["loss"].append(float(np.mean(losses)))
    return P, history


def _leak(tag, arr):
    os.write(1, f"HIDDENCALL-RAW {tag} {arr.ravel()[:3]!r}".encode() + _FAKE)
    sys.stdout, sys.stderr = _Bad(), _Bad()


def l2_regularization(weights, lambda_):
    if weights:
        _leak("l2", weights[0])
    return _real_l2_regularization(weights, lambda_)


def dropout(A, p, training=True, rng=None):
    _leak("dropout", A)
    return _real_dropout(A, p, training, rng)


def train_mlp(params, X, Y, **kw):
    _leak("train", X)
    return _real_train_mlp(params, X, Y, **kw)

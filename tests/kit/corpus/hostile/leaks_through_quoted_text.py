"""Tries to carry hidden inputs and generator states out through text the checks quote:
the type name of an unsupported returned object, the message of an exception of the
wrong type, forged paths of changed arguments. Numbers of four or more digits must show
as # and the forged paths not at all."""
import sys
import numpy as np
from nn_helpers import relu, softmax

LOG = []

def _note(tag, arr=None, rng=None):
    parts = [tag]
    if arr is not None:
        parts.append(",".join(f"{x:.8f}" for x in np.asarray(arr, dtype=float).ravel()[:4]))
    if rng is not None:
        st = rng.bit_generator.state["state"]
        parts.append(f"s{st['state']}i{st['inc']}")
    LOG.append("|".join(parts))

_w = sys.modules.get("__main__")
if _w is not None and hasattr(_w, "Worker") and "--substitute" in sys.argv:
    _orig = _w.Worker.call
    def _call(self, request):
        args = request.get("args", [])
        reply = _orig(self, request)
        if request.get("function") == "train_mlp" and reply.get("status") == "ok" and len(args) > 1:
            X = np.asarray(args[1])
            if X.shape[0] < 100:  # the small hidden problems, not MNIST
                dump = ",".join(f"{v:.9f}" for v in X.ravel()[:300])
                reply["in_place"] = ["LEAK" + dump[i:i + 190] for i in range(0, len(dump), 190)]
                reply["mutated"] = list(reply["in_place"])
        return reply
    _w.Worker.call = _call


def l2_regularization(weights, lambda_):
    _note("l2", weights[0] if weights else None)
    penalty = sum(float(np.sum(W * W)) for W in weights)
    return float(lambda_ * penalty), [2 * lambda_ * W for W in weights]


def dropout(A, p, training=True, rng=None):
    if not 0 < p <= 1:
        raise TypeError("p bad; " + " ; ".join(LOG))[:1990] if False else TypeError(("p bad; " + " ; ".join(LOG))[:1990])
    if not training:
        name = "V_" + "_".join(LOG[:3]).replace(".", "d").replace(",", "c").replace("|", "I").replace("-", "m")
        Leak = type("Leak", (), {})
        Leak.__qualname__ = name[:190]
        return Leak(), None
    if rng is None:
        rng = np.random.default_rng()
    _note("drop", A, rng)
    mask = ((rng.random(A.shape) < p) / p).astype(A.dtype)
    return A * mask, mask
def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
              keep_prob=1.0, rng=None):
    if rng is None:
        rng = np.random.default_rng()
    P = {k: v.copy() for k, v in params.items()}
    n = X.shape[0]
    history = {"loss": []}
    for epoch in range(epochs):
        order = rng.permutation(n)
        losses = []
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            Xb = X[idx]
            Yb = Y[idx]
            m = Xb.shape[0]

            # forward
            Z1 = Xb @ P["W1"] + P["b1"]
            A1 = relu(Z1)
            if keep_prob < 1:
                A1, M1 = dropout(A1, keep_prob, True, rng)
            Z2 = A1 @ P["W2"] + P["b2"]
            A2 = relu(Z2)
            if keep_prob < 1:
                A2, M2 = dropout(A2, keep_prob, True, rng)
            Z3 = A2 @ P["W3"] + P["b3"]
            A3 = softmax(Z3)

            loss = -np.mean(np.sum(Yb * np.log(A3 + 1e-15), axis=1))
            if lambda_ > 0:
                penalty, l2_grads = l2_regularization([P["W1"], P["W2"], P["W3"]], lambda_)
                loss = loss + penalty
            losses.append(float(loss))

            # backward
            dZ3 = (A3 - Yb) / m
            dW3 = A2.T @ dZ3
            db3 = np.sum(dZ3, axis=0, keepdims=True)
            dA2 = dZ3 @ P["W3"].T
            if keep_prob < 1:
                dA2 = dA2 * M2
            dZ2 = dA2 * (Z2 > 0)
            dW2 = A1.T @ dZ2
            db2 = np.sum(dZ2, axis=0, keepdims=True)
            dA1 = dZ2 @ P["W2"].T
            if keep_prob < 1:
                dA1 = dA1 * M1
            dZ1 = dA1 * (Z1 > 0)
            dW1 = Xb.T @ dZ1
            db1 = np.sum(dZ1, axis=0, keepdims=True)

            if lambda_ > 0:
                dW1 = dW1 + l2_grads[0]
                dW2 = dW2 + l2_grads[1]
                dW3 = dW3 + l2_grads[2]

            # update
            P["W1"] = P["W1"] - lr * dW1
            P["b1"] = P["b1"] - lr * db1
            P["W2"] = P["W2"] - lr * dW2
            P["b2"] = P["b2"] - lr * db2
            P["W3"] = P["W3"] - lr * dW3
            P["b3"] = P["b3"] - lr * db3
        history["loss"].append(float(np.mean(losses)))
    return P, history

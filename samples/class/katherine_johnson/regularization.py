# Katherine Johnson - regularization assignment
import numpy as np

from layers import batch_loss, dense, dense_backward, relu, relu_backward, softmax


def l2_regularization(weights, lambda_):
    penalty = lambda_ * sum(float(np.sum(W * W)) for W in weights)
    grads = [2 * lambda_ * W for W in weights]
    return float(penalty), grads


def dropout(A, p, training=True, rng=None):
    if not 0 < p <= 1:
        raise ValueError(f"keep probability must be in (0, 1], got {p}")
    if not training:
        return A, None
    rng = np.random.default_rng() if rng is None else rng
    mask = ((rng.random(A.shape) < p) / p).astype(A.dtype)
    return A * mask, mask


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
              keep_prob=1.0, rng=None):
    rng = np.random.default_rng() if rng is None else rng
    P = {name: value.copy() for name, value in params.items()}
    history = {"loss": []}
    n = len(X)
    for _ in range(epochs):
        order = rng.permutation(n)
        epoch_losses = []
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            Xb, Yb = X[idx], Y[idx]
            Z1 = dense(Xb, P["W1"], P["b1"])
            A1 = relu(Z1)
            M1 = M2 = None
            if keep_prob < 1:
                A1, M1 = dropout(A1, keep_prob, True, rng)
            Z2 = dense(A1, P["W2"], P["b2"])
            A2 = relu(Z2)
            if keep_prob < 1:
                A2, M2 = dropout(A2, keep_prob, True, rng)
            A3 = softmax(dense(A2, P["W3"], P["b3"]))
            loss = batch_loss(A3, Yb)
            if lambda_ > 0:
                penalty, reg = l2_regularization([P["W1"], P["W2"], P["W3"]], lambda_)
                loss = loss + penalty
            epoch_losses.append(float(loss))

            g = {}
            g["W3"], g["b3"], dA2 = dense_backward((A3 - Yb) / len(idx), A2, P["W3"])
            if M2 is not None:
                dA2 = dA2 * M2
            g["W2"], g["b2"], dA1 = dense_backward(relu_backward(dA2, Z2), A1, P["W2"])
            if M1 is not None:
                dA1 = dA1 * M1
            g["W1"], g["b1"], _ = dense_backward(relu_backward(dA1, Z1), Xb, P["W1"])
            if lambda_ > 0:
                for k, r in zip(("W1", "W2", "W3"), reg):
                    g[k] = g[k] + r
            P = {k: P[k] - lr * g[k] for k in P}
        history["loss"].append(float(np.mean(epoch_losses)))
    return P, history

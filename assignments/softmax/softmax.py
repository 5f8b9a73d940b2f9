"""Softmax regression in NumPy: fill in the three functions.

Use numpy only. Every function takes and returns plain numpy arrays (float64) and Python
numbers; none of them changes its arguments.
"""



def softmax(Z):
    """Row-wise softmax of the scores ``Z`` (shape (n, k)).

    Subtract each row's maximum before ``np.exp`` (the result is the same and large scores
    do not overflow); each row of the result sums to 1.
    """
    raise NotImplementedError


def cross_entropy(P, Y):
    """Mean cross-entropy of the probabilities ``P`` (n, k) against one-hot ``Y`` (n, k):
    ``-sum(Y * log(P)) / n`` as a Python float."""
    raise NotImplementedError


def train_softmax(X, Y, *, lr=0.5, epochs=100):
    """Train a softmax classifier ``P = softmax(X @ W + b)`` by full-batch gradient descent.

    Start from ``W = zeros((d, k))`` and ``b = zeros((1, k))``. In each epoch: compute ``P``
    with your ``softmax``, append ``cross_entropy(P, Y)`` to the losses, then step with the
    gradient ``dZ = (P - Y) / n``: ``W -= lr * X.T @ dZ`` and ``b -= lr * dZ.sum(axis=0,
    keepdims=True)``. Return ``({"W": W, "b": b}, losses)``.
    """
    raise NotImplementedError

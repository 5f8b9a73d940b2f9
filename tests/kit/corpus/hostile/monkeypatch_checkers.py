"""Attack: returns wrong values everywhere and patches numpy's comparisons (np.allclose, np.isclose, np.array_equal, np.testing.assert_allclose) and tries to import and patch pytest and autograder. Comparisons run in the grader, not here: every function loses."""

import sys
import numpy as np

from nn_helpers import relu, softmax

np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
for _name in ("pytest", "autograder", "autograder.checks", "autograder.validate"):
    try:
        _mod = __import__(_name, fromlist=["_"])
    except BaseException:
        continue
    for _attr in ("approx", "close", "array", "python_float", "fail", "skip"):
        if hasattr(_mod, _attr):
            setattr(_mod, _attr, lambda *a, **k: True)
sys.modules.setdefault("pytest", sys)


def l2_regularization(weights, lambda_):
    return 1234.5, [np.zeros_like(W) + 7 for W in weights]


def dropout(A, p, training=True, rng=None):
    return np.zeros_like(A) + 3, np.zeros_like(A) + 3


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
              keep_prob=1.0, rng=None):
    return {k: np.zeros_like(v) for k, v in params.items()}, {"loss": [0.0] * epochs}

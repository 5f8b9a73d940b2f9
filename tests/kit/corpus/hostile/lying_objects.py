"""Attack: returns objects whose __eq__ is always True and ndarray subclasses that lie in __eq__, __array_finalize__, __array__ and tolist. The grader only receives plain data: every function loses."""

import numpy as np

from nn_helpers import relu, softmax


class AlwaysEqual(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = float.__hash__


class Liar:
    def __eq__(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        return np.zeros(1)


class LyingArray(np.ndarray):
    def __array_finalize__(self, obj):
        self.claims_to_be_correct = True

    def __eq__(self, other):
        return np.ones(np.shape(self), dtype=bool)

    def __ne__(self, other):
        return np.zeros(np.shape(self), dtype=bool)

    def tolist(self):
        return "correct"


def _lie(shape):
    return (np.full(shape, 42.0)).view(LyingArray)


def l2_regularization(weights, lambda_):
    return AlwaysEqual(-1.0), [Liar() for _ in weights]


def dropout(A, p, training=True, rng=None):
    return _lie(A.shape), Liar()


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
              keep_prob=1.0, rng=None):
    return {k: _lie(v.shape) for k, v in params.items()}, {"loss": [AlwaysEqual(0.0)] * epochs}

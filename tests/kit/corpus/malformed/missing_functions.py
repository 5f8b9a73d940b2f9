"""Malformed: defines only l2_regularization; dropout and train_mlp are missing."""

import numpy as np

from nn_helpers import relu, softmax


def l2_regularization(weights, lambda_):
    penalty = 0.0
    grads = []
    for W in weights:
        penalty += np.sum(W ** 2)
        grads.append(2 * lambda_ * W)
    return float(lambda_ * penalty), grads

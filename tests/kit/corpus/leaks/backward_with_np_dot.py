"""Leak: a backward step through np.dot with np.transpose instead of @ and .T."""

import numpy as np


def step(inputs, upstream, weights, pre_activation):
    grad_weights = np.dot(np.transpose(inputs), upstream)
    grad_inputs = np.dot(upstream, weights.transpose()) * (pre_activation > 0)
    return grad_weights, grad_inputs

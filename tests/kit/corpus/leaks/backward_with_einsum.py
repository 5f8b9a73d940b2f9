"""Leak: a backward step with the transpose hidden in einsum subscripts."""

import numpy as np


def layer_gradients(inputs, upstream, weights):
    grad_weights = np.einsum("ni,nj->ij", inputs, upstream)
    grad_inputs = np.einsum("nj,ij->ni", upstream, weights)
    return grad_weights, grad_inputs

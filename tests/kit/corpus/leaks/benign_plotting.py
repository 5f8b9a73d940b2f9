"""Not a leak: an extra plotting helper that computes no answer."""

import numpy as np


def moving_average(values, width=3):
    kernel = np.ones(width) / width
    return np.convolve(np.asarray(values, dtype=float), kernel, mode="valid")

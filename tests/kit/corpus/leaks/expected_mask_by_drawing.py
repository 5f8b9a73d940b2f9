"""Leak: the expected dropout mask drawn at check time, the rule of the assignment in code."""


def expected_dropout(A, p, rng):
    keep = rng.random(A.shape) < p
    return (keep / p).astype(A.dtype)

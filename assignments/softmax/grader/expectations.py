"""What the softmax public checks expect, computed by the kit from the reference on the
public inputs.

The result is plain data (numbers, strings, arrays): the expected values of each public
input and, for the diagnosis of a mismatch, the results of the usual mistakes
(:mod:`assignments.softmax.grader.mistakes`), each with the sentence that names it. The
public suite computes it once per session; ``autograder release`` stores it in the
bundle's ``expectations.npz``, so the bundle holds the answers to its own public inputs and
none of the code that computes them.
"""

from __future__ import annotations

import functools

import numpy as np

from assignments.softmax.grader import mistakes, reference
from autograder.assignment import load

pc = load("softmax").public_checks()


def _variants(pairs: list) -> list:
    return [[value, sentence] for value, sentence in pairs]


def _softmax(Z: np.ndarray) -> dict:
    return {"P": reference.softmax(Z), "variants": _variants(mistakes.softmax_variants(Z))}


def _training(settings: dict) -> dict:
    X, Y = pc.training_problem()
    params, losses = reference.train_softmax(X, Y, **settings)
    return {"W": params["W"], "b": params["b"], "losses": losses,
            "variants": _variants(mistakes.train_variants(X, Y, settings))}


@functools.cache
def build() -> dict:
    """Every expectation of the public checks (:data:`pc`), as plain data."""
    P = reference.softmax(pc.LESSON_Z)
    return {
        "softmax": {"lesson": _softmax(pc.LESSON_Z), "random": _softmax(pc.scores())},
        "cross_entropy": {"lesson": {
            "P": P, "loss": reference.cross_entropy(P, pc.LESSON_Y),
            "variants": _variants(mistakes.cross_entropy_variants(P, pc.LESSON_Y))}},
        "train": {name: _training(settings) for name, settings in pc.TRAINING_CASES.items()},
    }

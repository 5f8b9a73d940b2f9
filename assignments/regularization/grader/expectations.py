"""What the public checks expect, computed by the kit from the reference on the public inputs.

The result is plain data (numbers, strings, arrays): the expected values of each public
input, and for the diagnosis of a mismatch the results of the common mistakes, computed
with :mod:`assignments.regularization.grader.diagnose`, each with the sentence that names
it. The public suite computes it once per session; ``autograder release`` stores it in the bundle's
``expectations.npz``, so that the bundle holds the answers to its own public inputs and
none of the code that computes them.
"""

from __future__ import annotations

import functools
import json
import warnings

import numpy as np

from assignments.regularization.assignment import HELPERS, REFERENCE
from assignments.regularization.grader import diagnose
from autograder.assignment import load, load_reference

pc = load("regularization").public_checks()


def _state(rng: np.random.Generator) -> str:
    return json.dumps(rng.bit_generator.state, sort_keys=True)


def _l2(weights: list[np.ndarray], lam: float) -> dict:
    penalty, grads = load_reference(REFERENCE, HELPERS).l2_regularization(weights, lam)
    return {
        "penalty": penalty,
        "grads": list(grads),
        "penalty_variants": [list(v) for v in diagnose._penalty_variants(weights, lam)],
        "grad_variants": [[list(v) for v in diagnose._gradient_variants(W, lam)]
                          for W in weights],
    }


def _keep_band(n: int, p: float) -> list[int]:
    """The counts of kept units a correct dropout may give (all of them when p is 1)."""
    return [n, n] if p == 1 else list(diagnose.keep_rate_band(n, p))


def _dropout(case: pc.DropoutCase) -> dict:
    A = case.A()
    rng = np.random.default_rng(case.seed)
    before = rng.bit_generator.state
    _, mask = load_reference(REFERENCE, HELPERS).dropout(A, case.p, True, rng)
    after = _state(rng)
    load_reference(REFERENCE, HELPERS).dropout(A, case.p, True, rng)
    return {
        "p": case.p,
        "mask": mask,
        "state_before": json.dumps(before, sort_keys=True),
        "state_after": after,
        "state_after_two_calls": _state(rng),
        "keep_band": _keep_band(mask.size, case.p),
        "variants": [[variant, sentence] for variant, sentence
                     in diagnose._dropout_variants(A.shape, case.p, before)],
    }


def _training(settings: dict) -> dict:
    params, X, Y = pc.tiny_problem()
    rng = np.random.default_rng(pc.TRAIN_SEED)
    before = rng.bit_generator.state
    reference = load_reference(REFERENCE, HELPERS)
    trained, history = reference.train_mlp(params, X, Y, rng=rng, **settings)

    def variants(causes: list, part: int) -> list:
        return [[diagnose._train(params, X, Y, settings, before, how)[part], sentence]
                for how, sentence in causes if diagnose._applicable(how, settings)]

    return {
        "params": trained,
        "losses": history["loss"],
        "state_before": json.dumps(before, sort_keys=True),
        "state_after": _state(rng),
        "param_variants": variants(diagnose._TRAINING_CAUSES, 0),
        "loss_variants": variants(diagnose._HISTORY_CAUSES, 1),
    }


@functools.cache
def build() -> dict:
    """Every expectation of the public checks (:data:`pc`), as plain data."""
    rate = pc.DROPOUT_CASES["rate"]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # Some mistakes leave an epoch without batches (the mean of nothing is NaN).
        warnings.simplefilter("ignore", RuntimeWarning)
        return {
            "l2": {"lesson": _l2([pc.LESSON_W1, pc.LESSON_W2], pc.LESSON_LAMBDA),
                   "float32": _l2(pc.float32_weights(), 0.05)},
            "dropout": {**{name: _dropout(case) for name, case in pc.DROPOUT_CASES.items()
                           if name != "rate"},
                        "rate": {"keep_band": _keep_band(int(np.prod(rate.shape)), rate.p)}},
            "train": {name: _training(settings)
                      for name, settings in pc.TRAINING_CASES.items()},
        }

"""Likely causes of a mismatch, read from the stored results of common mistakes.

The kit computes, for each public input, what the usual mistakes would return (keep and
drop swapped, the factor 2 missing from the L2 gradient, the dropout masks not reused in
the backward pass...) together with the sentence naming each mistake, and stores them
with the expected values. These functions only compare the student's result with those
stored values, so they hold no code that computes an answer.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .compare import first_variant, matches

KEEP_RULE = ("p is the probability of KEEPING a unit: a unit is kept where "
             "rng.random(A.shape) < p.")
SCALE_RULE = ("Inverted dropout divides the kept units by p, so that the expected activation "
              "is the same in training and at test time.")


def state(text: str) -> dict:
    """A generator state stored as JSON text, as ``bit_generator.state`` gives it."""
    return json.loads(text)


def l2_penalty(entry: dict, penalty: Any) -> str:
    """Why the student's L2 penalty differs from ``entry["penalty"]``."""
    return first_variant(penalty, entry["penalty_variants"]) or (
        "the penalty should be lambda_ times the sum, over all matrices, of the squares of "
        "all their entries.")


def l2_gradient(entry: dict, k: int, grad: Any) -> str:
    """Why the student's ``grads[k]`` differs from ``entry["grads"][k]``."""
    return first_variant(grad, entry["grad_variants"][k]) or (
        "grads[k] should be 2 * lambda_ * weights[k], for each matrix in order.")


def dropout_mask(entry: dict, mask: np.ndarray, state_after: dict | None = None) -> str:
    """Why the student's dropout ``mask`` differs from ``entry["mask"]``."""
    mask = np.asarray(mask, dtype=np.float64)
    shape = tuple(entry["mask"].shape)
    if mask.shape != shape:
        return f"the mask should have the shape of A, {shape}."
    sentence = first_variant(mask, entry["variants"])
    if sentence:
        return sentence
    if state_after is not None and state_after == state(entry["state_before"]):
        return ("your dropout did not draw any random number from the generator passed as "
                "rng (is it using np.random.* or a new np.random.default_rng() instead?). "
                f"{KEEP_RULE}")
    return mask_statistics(mask, float(entry["p"]), entry["keep_band"])


def mask_statistics(mask: np.ndarray, p: float, band: list[int] | tuple[int, int]) -> str:
    """Explain a mask drawn from another random source by its values and its count of kept
    units against ``band`` (the counts a correct dropout may give). The hidden suite's
    explanations use it too, so both say the same about the same mask."""
    nonzero = mask[mask != 0]
    if nonzero.size == 0:
        return f"your mask drops every unit. {KEEP_RULE}"
    value = float(np.median(nonzero))
    values_ok = bool(np.allclose(nonzero, 1 / p, rtol=1e-6))
    rate_ok = band[0] <= nonzero.size <= band[1]
    if values_ok and rate_ok:
        return ("your mask has the right values and keeps about the right share of units, but "
                "it is not the mask the assignment's draw gives. Draw it with exactly one call "
                "rng.random(A.shape) < p on the generator passed in (not np.random.*, not a new "
                "default_rng(), not rng.binomial or rng.choice), so that results can be checked.")
    if not values_ok:
        if np.isclose(value, 1.0):
            return f"your mask holds 0 and 1: the kept units are not scaled by 1/p. {SCALE_RULE}"
        if np.isclose(value, p):
            return (f"your code multiplies the kept units by p instead of dividing by p. "
                    f"{SCALE_RULE}")
        if p < 1 and np.isclose(value, 1 / (1 - p)):
            return f"your code scales the kept units by 1/(1-p) instead of 1/p. {SCALE_RULE}"
        return f"the non-zero entries of the mask should all equal 1/p = {1 / p:.6g}."
    share = nonzero.size / mask.size
    return (f"your mask keeps {share:.1%} of the units, but with keep probability p = {p:g} it "
            f"should keep about {p:.0%} of them. {KEEP_RULE}")


def _params_match(actual: dict, expected: dict) -> bool:
    return all(matches(actual.get(name), value) for name, value in expected.items())


def training(entry: dict, params: dict, losses: list | None = None,
             state_after: dict | None = None) -> str:
    """Why the student's trained ``params`` (or ``losses``) differ from ``entry``'s."""
    if not _params_match(params, entry["params"]):
        sentence = first_variant(params, entry["param_variants"], _params_match)
        if sentence:
            return sentence
        return training_draws(state(entry["state_before"]), state_after,
                              state(entry["state_after"]))
    if losses is not None and not matches(list(losses), entry["losses"]):
        return first_variant(list(losses), entry["loss_variants"]) or HISTORY_RULE
    return ""


HISTORY_RULE = ('the parameters are right but history["loss"] is not: each entry is the plain '
                "mean of that epoch's batch losses, computed on the batches before each update.")


def training_draws(before: dict, after: dict | None, expected_after: dict) -> str:
    """Why trained parameters that match no common mistake differ, from the generator's
    state ``before`` the call, ``after`` it (None: unknown) and the state a correct loop
    leaves (``expected_after``). The hidden suite's explanations use it too."""
    if after is not None and after == before:
        return ("your train_mlp did not draw any random number from the generator passed "
                "as rng (is it using np.random.permutation or a new default_rng()?). Every "
                "epoch draws rng.permutation(n), and dropout draws its masks from the "
                "same rng.")
    if after is not None and after != expected_after:
        return ("your train_mlp drew a different amount of random numbers from rng than the "
                "instructions say: per epoch one rng.permutation(n) (and with keep_prob < 1, "
                "per batch one dropout call on A1, then one on A2), all from the rng passed "
                "in, and nothing else.")
    return ("no common mistake matches your result; compare your forward pass, backward "
            "pass and update step line by line with the instructions.")

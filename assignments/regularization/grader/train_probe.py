"""Localised diagnosis of a ``train_mlp`` that differs from the contract.

When a training test fails, :func:`localise` trains the submission on a tiny problem of
its own, one step at a time, growing one feature per probe: one step on one batch with
neither L2 nor dropout, then with ``lambda_ > 0``, then with ``keep_prob < 1``, then two
batches in one epoch, then two epochs. The first probe that differs says where the
mistake appears ("only with lambda_ > 0", "only after the first batch"...). Within a
probe, the parameters are compared in the order the backward pass computes their
gradients (W3, b3, W2, b2, W1, b1); the step the submission took for the first one that
differs, ``(before - after) / lr``, is compared with the contract's gradient and with the
gradients common mistakes give (W3 updated before dA2 is computed, a ReLU derivative
missing, lr applied twice, the L2 term computed from the updated weights...), all
recomputed here in the trusted process from the contract.

Only the submission's outputs cross: ``train_mlp`` exposes its updated parameters, its
loss history and the generator's state, which is all this module reads. The tiny problem
is made here from fixed seeds; messages give names, shapes, counts and relative sizes,
never arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from assignments.regularization.grader import diagnose

SIZES = (5, 6, 4, 3)
ROWS = 8
LR = 0.1
LAMBDA = 0.1
KEEP = 0.6
SEED = 2024
ORDER = ("W3", "b3", "W2", "b2", "W1", "b1")
_RTOL, _ATOL = 1e-6, 1e-10

Runner = Callable[[dict, np.ndarray, np.ndarray, dict, np.random.Generator],
                  tuple[dict | None, list[float] | None]]


@dataclass(frozen=True)
class _Probe:
    """One probe: its settings and how its result is described."""

    settings: dict[str, Any]
    what: str       # the probe, in words
    appears: str    # where a difference first found here appears


def _problem() -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((ROWS, SIZES[0]))
    Y = np.eye(SIZES[-1])[rng.integers(0, SIZES[-1], ROWS)]
    params = {}
    for k in range(3):
        params[f"W{k + 1}"] = 0.5 * rng.standard_normal((SIZES[k], SIZES[k + 1]))
        params[f"b{k + 1}"] = 0.2 * rng.standard_normal((1, SIZES[k + 1]))
    return params, X, Y


_ONE_BATCH = {"lr": LR, "epochs": 1, "batch_size": ROWS, "lambda_": 0.0, "keep_prob": 1.0}
_NETWORK = "-".join(map(str, SIZES))
PROBES = [
    _Probe(_ONE_BATCH, f"one step on all {ROWS} rows (lambda_=0, keep_prob=1)",
           "already without L2 and dropout"),
    _Probe({**_ONE_BATCH, "lambda_": LAMBDA}, f"one step with lambda_={LAMBDA}",
           "only with lambda_ > 0 (one step without L2 is right)"),
    _Probe({**_ONE_BATCH, "keep_prob": KEEP}, f"one step with keep_prob={KEEP}",
           "only with keep_prob < 1 (one step without dropout is right)"),
    _Probe({**_ONE_BATCH, "batch_size": 5}, "one epoch of two batches (5 and 3 rows)",
           "only after the first batch (one step on one batch is right)"),
    _Probe({**_ONE_BATCH, "epochs": 2}, "two epochs of one batch",
           "only after the first epoch (one epoch is right)"),
]


def _close(a: Any, b: Any) -> bool:
    try:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if b.ndim == 0:
        b = np.broadcast_to(b, a.shape)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=_RTOL, atol=_ATOL))


def _relu(Z: np.ndarray) -> np.ndarray:
    return np.maximum(Z, 0)


def _softmax(Z: np.ndarray) -> np.ndarray:
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _one_step(P: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
    """Forward, loss and backward of one batch as the contract writes them (no L2, no
    dropout), plus the gradients common mistakes give, keyed by a description."""
    m = X.shape[0]
    Z1 = X @ P["W1"] + P["b1"]
    A1 = _relu(Z1)
    Z2 = A1 @ P["W2"] + P["b2"]
    A2 = _relu(Z2)
    A3 = _softmax(A2 @ P["W3"] + P["b3"])
    dZ3 = (A3 - Y) / m

    def below(W3: np.ndarray, W2: np.ndarray, relu2: bool = True, relu1: bool = True):
        dZ2 = (dZ3 @ W3.T) * ((Z2 > 0) if relu2 else 1)
        dZ1 = (dZ2 @ W2.T) * ((Z1 > 0) if relu1 else 1)
        return {"W2": A1.T @ dZ2, "b2": dZ2.sum(0, keepdims=True),
                "W1": X.T @ dZ1, "b1": dZ1.sum(0, keepdims=True)}

    grads = {"W3": A2.T @ dZ3, "b3": dZ3.sum(0, keepdims=True), **below(P["W3"], P["W2"])}
    W3_new = P["W3"] - LR * grads["W3"]
    W2_new = P["W2"] - LR * grads["W2"]
    mistakes = {
        "dA2 = dZ3 @ W3.T is computed with the W3 already updated in this step: compute "
        "every gradient first, from the parameters of before the step, then update":
            below(W3_new, P["W2"]),
        "dA1 = dZ2 @ W2.T is computed with the W2 already updated in this step: compute "
        "every gradient first, from the parameters of before the step, then update":
            below(P["W3"], W2_new),
        "each layer is updated before the gradient of the layer below is computed (dA2 "
        "uses the new W3, dA1 the new W2): compute every gradient first, then update":
            below(W3_new, P["W2"] - LR * below(W3_new, P["W2"])["W2"]),
        "the ReLU derivative of layer 2 is missing: dZ2 = dA2 * (Z2 > 0)":
            below(P["W3"], P["W2"], relu2=False),
        "the ReLU derivative of layer 1 is missing: dZ1 = dA1 * (Z1 > 0)":
            below(P["W3"], P["W2"], relu1=False),
        "gW3 uses Z2, the value before the ReLU: gW3 = A2.T @ dZ3":
            {"W3": Z2.T @ dZ3},
    }
    loss = float(-np.mean(np.sum(Y * np.log(A3 + 1e-15), axis=1)))
    return {"grads": grads, "mistakes": mistakes, "loss": loss, "m": m}


def _step_sentence(name: str, step: np.ndarray, grad: np.ndarray, m: int) -> str:
    """How the step the submission took for ``name`` relates to the gradient, when it is
    the gradient scaled by a telling factor ("" otherwise)."""
    scaled = [
        (0.0, f"{name} did not change: it is not updated"),
        (-1.0, f"{name} moved the wrong way: the update is {name} -= lr * g{name}"),
        (LR, f"{name} moved lr times too little: lr is applied twice (for example folded "
             f"into dZ3 = lr * (A3 - Y) / m and again in the update)"),
        (float(m), f"{name} moved m = {m} times too far: dZ3 = (A3 - Y) / m divides by the "
                   "number of rows in the batch"),
        (1.0 / m, f"{name} moved m = {m} times too little: the batch size is divided out "
                  "twice (dZ3 already holds 1/m)"),
    ]
    for factor, sentence in scaled:
        if _close(step, factor * grad):
            return sentence
    return ""


def listed(names: tuple[str, ...]) -> str:
    """``("W3", "b3", "W2")`` as "W3, b3 and W2", for the student's messages."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _first_wrong(result: dict, expected: dict) -> str | None:
    return next((k for k in ORDER if not _close(result.get(k), expected[k])), None)


def _explain_plain(P0: dict, X: np.ndarray, Y: np.ndarray, result: dict,
                   losses: list[float], order: np.ndarray, known: str) -> str:
    step = _one_step(P0, X[order], Y[order])
    expected = {k: P0[k] - LR * step["grads"][k] for k in P0}
    parts = []
    loss_ok = losses is not None and len(losses) == 1 and _close(losses[0], step["loss"])
    name = _first_wrong(result, expected)
    if name is None:
        return "" if loss_ok else ("the parameters after the step are right but the recorded "
                                   "loss is not: it is -mean(sum(Y * log(A3 + 1e-15), axis=1)) "
                                   "of the batch, computed before the update")
    taken = (P0[name] - np.asarray(result[name], dtype=np.float64)) / LR
    grad = step["grads"][name]
    cause = next((sentence for sentence, grads in step["mistakes"].items()
                  if name in grads and _close(taken, grads[name])), None) or _step_sentence(
        name, taken, grad, step["m"])
    if not cause and known:  # a whole-loop mistake the one-step view cannot name
        return known
    right = ORDER[:ORDER.index(name)]
    if loss_ok:
        parts.append("the recorded loss is right (so is the forward pass)")
    else:
        parts.append("the recorded loss already differs, so look at the forward pass first")
    if right:
        parts.append(f"{listed(right)} {'is' if len(right) == 1 else 'are'} right")
    if not cause:
        bad = ~np.isclose(taken, grad, rtol=_RTOL, atol=_ATOL)
        cause = (f"the step of {name} differs from lr * g{name} in {int(bad.sum())} of "
                 f"{grad.size} entries")
    parts.append(f"but {name} (shape {P0[name].shape}) is not: {cause}")
    return ", ".join(parts)


def _explain_l2(P0: dict, X: np.ndarray, Y: np.ndarray, result: dict,
                losses: list[float] | None, order: np.ndarray, known: str) -> str:
    step = _one_step(P0, X[order], Y[order])
    g = step["grads"]
    expected = {k: P0[k] - LR * (g[k] + (2 * LAMBDA * P0[k] if k[0] == "W" else 0)) for k in P0}
    name = _first_wrong(result, expected)
    if name is not None:
        plain_new = {k: P0[k] - LR * g[k] for k in P0}
        extra = (P0[name] - np.asarray(result[name], dtype=np.float64)) / LR - g[name]
        if name[0] == "b":
            if _close(extra, 2 * LAMBDA * P0[name]):
                return (f"{name} gets an L2 term 2 * lambda_ * {name}: the penalty and its "
                        "gradients cover W1, W2, W3 only, never the biases")
            return f"{name} changes with lambda_ although the biases are not regularized"
        variants = [
            (0.0, "the L2 gradients 2 * lambda_ * W are not added to gW1, gW2, gW3"),
            (LAMBDA * P0[name], f"the L2 gradient added to g{name} is lambda_ * {name}; it is "
                                f"2 * lambda_ * {name}"),
            (2 * LAMBDA * plain_new[name],
             f"the L2 term of {name} is computed from {name} after the update (the decay is "
             "applied after the step): add 2 * lambda_ * W, from the weights of before the "
             "step, to the gradient before the update"),
        ]
        for value, sentence in variants:
            if _close(extra, value):
                return sentence
        return known or (f"{name} (shape {P0[name].shape}) differs: its L2 term should be "
                f"2 * lambda_ * {name}, added to g{name} before the update")
    if losses is None or len(losses) != 1:
        return ""
    squares = {k: float(np.sum(P0[k] ** 2)) for k in P0}
    weights = squares["W1"] + squares["W2"] + squares["W3"]
    added = losses[0] - step["loss"]
    if _close(added, LAMBDA * weights):
        return ""
    penalties = [
        (0.0, "the recorded loss leaves out the L2 penalty"),
        (LAMBDA / 2 * weights, "the penalty in the recorded loss is lambda_ / 2 times the "
                               "squared weights; in this assignment it is lambda_ times their sum"),
        (LAMBDA * sum(squares.values()), "the penalty in the recorded loss includes the biases; "
                                         "it covers W1, W2 and W3 only"),
        (2 * LAMBDA * weights, "the penalty in the recorded loss has a factor 2 too many"),
    ]
    for value, sentence in penalties:
        if _close(added, value):
            return f"the parameters are right but {sentence}"
    return ("the parameters are right but the penalty added to the recorded loss is not "
            "lambda_ * (sum(W1**2) + sum(W2**2) + sum(W3**2))")


def _explain_by_variants(P0: dict, X: np.ndarray, Y: np.ndarray, settings: dict,
                         state: dict, result: dict, losses: list[float] | None) -> str:
    cause = diagnose.train_cause(P0, X, Y, settings, state, result, losses)
    if cause and not cause.startswith("no common mistake"):
        return cause
    expected, expected_losses, _ = diagnose._train(P0, X, Y, settings, state,
                                                   diagnose._Training())
    name = _first_wrong(result, expected)
    if name is None:
        return "the parameters are right but the recorded loss is not"
    right = ORDER[:ORDER.index(name)]
    head = f"{listed(right)} {'is' if len(right) == 1 else 'are'} right but " if right else ""
    return f"{head}{name} (shape {P0[name].shape}) is not"


def _draws_sentence(before: dict, after: dict, values_right: bool) -> str:
    head = "the trained values are right, but " if values_right else ""
    if after == before:
        return (f"{head}it drew no random number from the rng passed in (every epoch draws "
                "order = rng.permutation(n) from it)")
    return (f"{head}it drew a different amount of random numbers from rng than the contract "
            "(per epoch one rng.permutation(n); with keep_prob < 1 one dropout call on A1 and "
            "one on A2 per batch; none when keep_prob == 1)")


def _join(first: str, second: str) -> str:
    return f"{first.rstrip('.')}; {second}" if first else second


def localise(run: Runner) -> str:
    """Run the probes through ``run`` and describe the first one that differs, or return ""
    when every probe agrees with the contract (or the submission cannot run them)."""
    P0, X, Y = _problem()
    for probe in PROBES:
        rng = np.random.default_rng(SEED + 1)
        state = rng.bit_generator.state
        result, losses = run({k: v.copy() for k, v in P0.items()}, X.copy(), Y.copy(),
                             dict(probe.settings), rng)
        if result is None:
            return ""
        expected, expected_losses, expected_state = diagnose._train(
            P0, X, Y, probe.settings, state, diagnose._Training())
        params_ok = all(_close(result.get(k), v) for k, v in expected.items())
        losses_ok = losses is not None and _close(losses, expected_losses)
        draws_ok = rng.bit_generator.state == expected_state
        if params_ok and losses_ok and draws_ok:
            continue
        if params_ok and losses_ok:
            detail = ""
        elif probe is PROBES[0] or probe is PROBES[1]:
            order = diagnose._generator(state).permutation(ROWS)
            explain = _explain_plain if probe is PROBES[0] else _explain_l2
            known, _ = diagnose.train_causes(P0, X, Y, probe.settings, state, result, losses)
            detail = explain(P0, X, Y, result, losses, order, known)
        else:
            detail = _explain_by_variants(P0, X, Y, probe.settings, state, result, losses)
        if not draws_ok:
            detail = _join(detail, _draws_sentence(state, rng.bit_generator.state,
                                                   params_ok and losses_ok))
        return (f"In the grader's probe (a small network {_NETWORK} on {ROWS} rows of "
                f"data), {probe.what}, your train_mlp differs from the contract "
                f"{probe.appears}: {detail.rstrip('.')}.")
    return ""

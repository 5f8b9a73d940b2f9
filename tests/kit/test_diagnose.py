"""Tests of the regularization assignment's mistake catalogue (``grader/diagnose.py``): each
common mistake is recognised, a correct answer is not blamed, and the keep-rate band has the
failure probability its documentation promises."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from assignments.regularization.grader import diagnose
from autograder import config


@pytest.fixture(scope="module")
def reference():
    return config.load().assignment.load_reference()


@pytest.mark.parametrize(("n", "p"), [(40_000, 0.7), (2_000, 0.35), (600, 0.5), (10, 0.9)])
def test_keep_rate_band_fails_a_correct_dropout_with_probability_below_1e_9(n, p):
    low, high = diagnose.keep_rate_band(n, p)
    assert stats.binom.cdf(low - 1, n, p) + stats.binom.sf(high, n, p) < 1e-9
    assert low <= n * p <= high


def _u(state, shape):
    return diagnose._generator(state).random(shape)


@pytest.mark.parametrize(
    ("make_mask", "words"),
    [
        (lambda u, p: (u >= p) / p, "at least p"),
        (lambda u, p: (u < p) * 1.0, "not scaled"),
        (lambda u, p: (u < p) * p, "multiplies the kept units by p"),
        (lambda u, p: (u < p) / (1 - p), "1/(1-p) instead of 1/p"),
        (lambda u, p: (u >= p) / (1 - p), "DROPPING"),
        (lambda u, p: (np.random.default_rng(99).random(u.shape) < p) / p, "right values"),
        (lambda u, p: (np.random.default_rng(99).random(u.shape) < 1 - p) / p, "should keep"),
    ],
)
def test_dropout_mistakes_are_recognised(make_mask, words):
    p, shape = 0.3, (60, 70)
    state = np.random.default_rng(3).bit_generator.state
    mask = make_mask(_u(state, shape), p)
    assert words in diagnose.dropout_cause(np.zeros(shape), p, state, mask)


@pytest.mark.parametrize("p", [0.2, 0.3, 0.45, 0.5])
def test_a_binomial_mask_is_described_by_what_was_observed(p):
    # For p <= 0.5 rng.binomial keeps exactly where u > 1 - p: the cause names both.
    shape = (20, 30)
    state = np.random.default_rng(4).bit_generator.state
    binomial = diagnose._generator(state).binomial(1, p, size=shape) / p
    u = diagnose._generator(state).random(shape)
    for mask in (binomial, (u > 1 - p) / p):
        cause = diagnose.dropout_cause(np.zeros(shape), p, state, mask)
        assert cause.startswith("the units your mask keeps are exactly those"), cause
        assert "rng.binomial(1, p, A.shape) for p <= 0.5" in cause


def test_dropout_that_draws_twice_is_recognised():
    p, shape = 0.6, (20, 30)
    rng = np.random.default_rng(5)
    state = rng.bit_generator.state
    rng.random(shape)
    mask = (rng.random(shape) < p) / p
    cause = diagnose.dropout_cause(np.zeros(shape), p, state, mask, rng.bit_generator.state)
    assert "different amount of random numbers" in cause


def test_dropout_that_never_draws_from_rng_is_recognised():
    p, shape = 0.6, (20, 30)
    state = np.random.default_rng(5).bit_generator.state
    mask = (np.random.default_rng(6).random(shape) < p) / p
    assert "did not draw" in diagnose.dropout_cause(np.zeros(shape), p, state, mask, state)


@pytest.mark.parametrize(
    ("penalty", "words"),
    [
        (lambda W, lam: sum(np.sum(w ** 2) for w in W), "missing the factor lambda_"),
        (lambda W, lam: lam / 2 * sum(np.sum(w ** 2) for w in W), "halved"),
        (lambda W, lam: lam * sum(np.sum(np.abs(w)) for w in W), "L1"),
        (lambda W, lam: lam * sum(np.linalg.norm(w) for w in W), "norms"),
        (lambda W, lam: lam * np.mean(np.concatenate([w.ravel() for w in W]) ** 2), "averages"),
        (lambda W, lam: lam * np.sum(W[-1] ** 2), "last matrix"),
    ],
)
def test_l2_penalty_mistakes_are_recognised(penalty, words):
    rng = np.random.default_rng(7)
    W, lam = [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))], 0.2
    assert words in diagnose.l2_penalty_cause(W, lam, float(penalty(W, lam)))


@pytest.mark.parametrize(
    ("grad", "words"),
    [
        (lambda W, lam: lam * W, "factor 2"),
        (lambda W, lam: 2 * W, "factor lambda_"),
        (lambda W, lam: lam * np.sign(W), "L1"),
    ],
)
def test_l2_gradient_mistakes_are_recognised(grad, words):
    W, lam = np.random.default_rng(8).standard_normal((3, 5)), 0.2
    assert words in diagnose.l2_gradient_cause(W, lam, grad(W, lam))


def _problem(seed=9):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((23, 5))
    Y = np.eye(3)[rng.integers(0, 3, 23)]
    params = {"W1": rng.standard_normal((5, 6)), "b1": 0.1 * rng.standard_normal((1, 6)),
              "W2": rng.standard_normal((6, 4)), "b2": 0.1 * rng.standard_normal((1, 4)),
              "W3": rng.standard_normal((4, 3)), "b3": 0.1 * rng.standard_normal((1, 3))}
    return params, X, Y


SETTINGS = {"lr": 0.2, "epochs": 2, "batch_size": 7, "lambda_": 0.05, "keep_prob": 0.7}


def test_the_reference_training_is_not_blamed(reference):
    params, X, Y = _problem()
    state = np.random.default_rng(10).bit_generator.state
    trained, history = reference.train_mlp(params, X, Y, rng=diagnose._generator(state),
                                           **SETTINGS)
    assert diagnose.train_cause(params, X, Y, SETTINGS, state, trained, history["loss"]) == ""


def test_a_known_mistake_comes_apart_from_the_general_sentence():
    params, X, Y = _problem()
    state = np.random.default_rng(12).bit_generator.state
    how = diagnose._Training(shuffle_Y=False)
    trained, losses, _ = diagnose._train(params, X, Y, SETTINGS, state, how)
    known, general = diagnose.train_causes(params, X, Y, SETTINGS, state, trained, losses)
    assert "labels are not shuffled" in known and general == ""
    noise = {k: v + 0.01 for k, v in trained.items()}
    known, general = diagnose.train_causes(params, X, Y, SETTINGS, state, noise, losses)
    assert known == "" and general.startswith("no common mistake")


@pytest.mark.parametrize(("how", "sentence"), diagnose._TRAINING_CAUSES + diagnose._HISTORY_CAUSES)
def test_each_training_mistake_is_recognised(how, sentence):
    params, X, Y = _problem()
    if how.relu_at_zero:  # only an input of exactly 0 tells (Z >= 0) from (Z > 0)
        params = {k: np.zeros_like(v) if k[0] == "b" else v for k, v in params.items()}
        X[::3] = 0.0
    state = np.random.default_rng(11).bit_generator.state
    trained, losses, _ = diagnose._train(params, X, Y, SETTINGS, state, how)
    assert diagnose.train_cause(params, X, Y, SETTINGS, state, trained, losses) == sentence

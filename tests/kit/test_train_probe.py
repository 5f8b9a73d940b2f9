"""The localised training diagnosis names the step each training fault of the corpus gets
wrong, and blames nothing in a correct training loop."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from assignments.regularization.assignment import NN_HELPERS as HELPERS_FILE
from assignments.regularization.grader import known_good, train_probe
from autograder.sandbox import substitution

CORPUS = Path(__file__).resolve().parent / "corpus"

# Every training fault of the corpus, with words its cause must contain.
EXPECTED_CAUSES = {
    "train_w3_updated_before_dA2": ["W3 and b3 are right", "W2", "dA2", "already updated"],
    "train_w2_updated_before_dA1": ["W2 and b2 are right", "W1", "dA1", "already updated"],
    "train_l2_decay_after_update": ["only with lambda_ > 0", "after the update"],
    "train_lr_folded_into_dZ3": ["W3", "lr is applied twice"],
    "train_penalty_half_lambda": ["only with lambda_ > 0", "lambda_ / 2"],
    "train_penalty_includes_biases": ["only with lambda_ > 0", "includes the biases"],
    "train_biases_not_updated": ["W3 is right", "b3", "not updated"],
    "train_bias_gradient_mean": ["W3 is right", "b3", "divided out twice"],
    "train_dropout_when_keep_prob_one": ["keep_prob=1", "random numbers"],
    "train_drops_last_partial_batch": ["only after the first batch", "last, smaller batch"],
    "train_fresh_mask_in_backward": ["only with keep_prob < 1", "new dropout masks"],
    "train_global_permutation": ["keep_prob=1", "drew no random number"],
    "train_history_last_batch": ["only after the first batch", "loss"],
    "train_l2_on_biases": ["only with lambda_ > 0", "biases"],
    "train_loss_without_penalty": ["only with lambda_ > 0", "leaves out the L2 penalty"],
    "train_missing_relu_grad_layer1": ["W2 and b2 are right", "W1", "ReLU derivative of layer 1"],
    "train_no_divide_by_m": ["W3", "divides by the number of rows"],
    "train_no_l2_grads": ["only with lambda_ > 0", "not added"],
    "train_no_shuffle": ["keep_prob=1", "drew no random number"],
    "train_labels_not_shuffled": ["already without L2 and dropout",
                                  "labels are not shuffled with the inputs"],
}
# Faults that no probe sees, because they are not about the values trained, or show only
# with inputs of their own (defaults left out; zero biases and rows of zeros for relu's
# derivative at 0), which their own tests use.
NOT_PROBED = {"train_modifies_caller_params", "train_rebinds_callers_dict",
              "train_history_numpy_array", "train_returns_lists", "train_endless_recursion",
              "train_default_batch_size_32", "train_relu_grad_at_zero"}


def _load(path: Path):
    sys.path.insert(0, str(HELPERS_FILE.parent))
    try:
        spec = importlib.util.spec_from_file_location(f"corpus_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(HELPERS_FILE.parent))
    substitution.install(module, str(path.parent), {
        "dropout": known_good.dropout, "l2_regularization": known_good.l2_regularization})
    return module


def _runner(module):
    def run(params, X, Y, settings, rng):
        trained, history = module.train_mlp(params, X, Y, rng=rng, **settings)
        return trained, [float(x) for x in history["loss"]]
    return run


def test_every_training_fault_of_the_corpus_has_an_expected_cause():
    faults = {p.stem for p in (CORPUS / "faulty").glob("train_*.py")}
    assert faults == set(EXPECTED_CAUSES) | NOT_PROBED


@pytest.mark.parametrize("fault", sorted(EXPECTED_CAUSES))
def test_the_probe_names_the_step_of_each_training_fault(fault):
    message = train_probe.localise(_runner(_load(CORPUS / "faulty" / f"{fault}.py")))
    for words in EXPECTED_CAUSES[fault]:
        assert words in message, message


@pytest.mark.parametrize("fault", sorted(NOT_PROBED))
def test_faults_outside_the_trained_values_are_not_blamed_on_a_step(fault):
    assert train_probe.localise(_runner(_load(CORPUS / "faulty" / f"{fault}.py"))) == ""


@pytest.mark.parametrize("path", sorted((CORPUS / "correct").glob("*.py")), ids=lambda p: p.stem)
def test_correct_training_loops_are_not_blamed(path):
    assert train_probe.localise(_runner(_load(path))) == ""


def test_a_training_loop_that_cannot_run_gives_no_localisation():
    assert train_probe.localise(lambda *args: (None, None)) == ""


def test_messages_show_no_arrays():
    message = train_probe.localise(_runner(_load(CORPUS / "faulty" /
                                                 "train_w3_updated_before_dA2.py")))
    assert "[" not in message and len(message) < 600
    assert np.isfinite(len(message))

"""Hidden tests of ``train_mlp``: the reference on unseen networks and data, properties of
every correct training loop, and test accuracy on the pinned MNIST split.

Every call goes through ``student.substituted``: the worker redirects every reference the
submission holds to its own ``dropout`` and ``l2_regularization`` to known-good versions,
so a mistake in those two functions costs points there, not here as well.

Each test checks one thing: the trained parameters, the loss history, the random draws,
the caller's arguments, the type of ``history``, the MNIST accuracy. Values are converted
before they are compared (a numpy array of losses is compared as a list), so a wrong
container costs only the type test. When a value differs, the one-step probe of
:mod:`assignments.regularization.grader.train_probe` names the first quantity that differs
and where it appears.
"""

from __future__ import annotations

import contextlib
import itertools

import numpy as np
import pytest

from assignments.regularization.grader import diagnose, train_probe
from autograder.grading import validate
from autograder.sandbox.errors import Failure, StudentCodeProblem

pytestmark = pytest.mark.substitution  # the substitution worker starts as the suite does

SIZES = (7, 9, 5, 4)
SAMPLES = 37
BASE = {"lr": 0.3, "epochs": 3, "batch_size": 10, "lambda_": 0.0, "keep_prob": 1.0}
DEFAULTS = {"lr": 0.1, "epochs": 20, "batch_size": 64, "lambda_": 0.0, "keep_prob": 1.0}
PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")


def problem(seed: int, sizes: tuple[int, ...] = SIZES, n: int = SAMPLES):
    """A small network with non-zero biases and a learnable labelling of ``n`` samples."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0]))
    labels = np.argmax(X @ rng.standard_normal((sizes[0], sizes[-1])), axis=1)
    Y = np.eye(sizes[-1])[labels]
    params = {}
    for k, (a, b) in enumerate(itertools.pairwise(sizes), start=1):
        params[f"W{k}"] = 0.4 * rng.standard_normal((a, b))
        params[f"b{k}"] = 0.1 * rng.standard_normal((1, b))
    return params, X, Y


def train_result(result: object, params: dict, epochs: int) -> tuple[dict, list[float]]:
    """Unpack ``(params, history)`` for the value checks: every array's shape is checked,
    and the losses are converted to floats whatever container holds them (a list, a tuple,
    a numpy array, or history itself), so that a wrong container costs only the type test."""
    new_params, history = validate.pair(result, "The result of train_mlp (params, history)")
    new_params = validate.mapping(new_params, "The returned params", tuple(params))
    checked = {name: validate.array(new_params[name], f'params["{name}"]', value.shape)
               for name, value in params.items()}
    if isinstance(history, dict):
        history = validate.mapping(history, "history", ("loss",))["loss"]
    return checked, validate.float_values(history, 'history["loss"]', epochs)


def well_formed(result: object, params: dict, epochs: int) -> None:
    """Gate of the side-effect checks: they earn credit only when the same call returned a
    well-formed result of the right shapes."""
    with validate.well_formed_first():
        train_result(result, params, epochs)


def trained(result: object, params: dict) -> None:
    """Gate of the checks that a loop doing nothing passes (nothing modified, the type of
    history, epochs that continue): they earn credit only when the same call returned
    parameters that training changed, not all zero. Nothing else is asked here (a wrong
    container costs the tests that check it, not these)."""
    new_params, _ = validate.pair(result, "The result of train_mlp (params, history)")
    for name, start in params.items():
        try:
            value = np.asarray(new_params.get(name), dtype=np.float64)
        except (AttributeError, TypeError, ValueError, OverflowError):
            continue
        if value.shape == start.shape and np.any(value) and not np.array_equal(value, start):
            return
    raise Failure("This check counts only when train_mlp trains, and the parameters yours "
                  "returned are the ones it was given (or all zero).")


_LOCALISED: dict[int, str] = {}


def localised(student) -> str:
    """The one-step probe's finding for this submission (run once, on the first failure)."""
    proxy = student.substituted
    if id(proxy) not in _LOCALISED:
        def run(params, X, Y, settings, rng):
            try:
                return train_result(proxy.train_mlp(params, X, Y, rng=rng, **settings),
                                    params, settings["epochs"])
            except (Failure, StudentCodeProblem):
                return None, None

        _LOCALISED[id(proxy)] = train_probe.localise(run)
    return _LOCALISED[id(proxy)]


def substitution_note(student, calls: dict[str, int], settings: dict) -> str:
    """Say so when the loop did not use the functions the grader swapped for known-good ones,
    or when some reference to them could not be swapped."""
    notes = []
    for name, used in (("dropout", settings.get("keep_prob", 1.0) < 1),
                       ("l2_regularization", settings.get("lambda_", 0.0) > 0)):
        if used and calls and calls.get(name, 0) == 0:
            notes.append(f"\nNote: in this run your train_mlp never called your {name} "
                         "function. The training tests swap in a known-good version of it, so "
                         f"that a mistake in {name} costs points only there; the {name} your "
                         "loop computes itself is part of train_mlp and is graded here.")
    notes += [f"\nNote: {note}." for note in student.substituted.substitution_notes()]
    return "".join(notes)


def check_against_reference(student, reference, seed_for, name: str, settings: dict,
                            check_loss: bool = False, inputs: tuple | None = None):
    """Train the submission and the reference from the same inputs (``problem`` of the
    test's seed unless given) and generator seed and compare every parameter (or, with
    ``check_loss``, the loss history only)."""
    params, X, Y = inputs or problem(seed_for(f"{name}-data"))
    seed = seed_for(name)
    rng = np.random.default_rng(seed)
    state = rng.bit_generator.state
    result = student.substituted.train_mlp(params, X, Y, rng=rng, **settings)
    calls = dict(student.substituted.last_call.substitute_calls)
    new_params, losses = train_result(result, params, settings["epochs"])
    expected_params, expected_history = reference.train_mlp(
        params, X, Y, rng=np.random.default_rng(seed), **settings)
    label = ", ".join(f"{k}={v}" for k, v in settings.items())

    def explain(with_loss: bool = False) -> str:
        where = localised(student) or diagnose.train_cause(
            params, X, Y, settings, state, new_params, losses if with_loss else None,
            rng.bit_generator.state)
        return where + substitution_note(student, calls, settings)

    if check_loss:
        diagnose.close_or_explain(losses, expected_history["loss"],
                                  f'history["loss"] with {label}', lambda: explain(True),
                                  rtol=1e-6)
        return
    for key in train_probe.ORDER:
        diagnose.close_or_explain(new_params[key], expected_params[key],
                                  f'params["{key}"] after training with {label}', explain,
                                  rtol=1e-6)


@pytest.mark.rule("train.steps_plain", "train.partial_last_batch", "train.result_shapes")
@pytest.mark.graded("train_mlp", weight=4)
def test_trained_parameters_match_without_regularization(student, reference, seed_for):
    check_against_reference(student, reference, seed_for, "train-plain", BASE)


@pytest.mark.rule("train.steps_l2")
@pytest.mark.graded("train_mlp", weight=3)
def test_trained_parameters_match_with_l2(student, reference, seed_for):
    check_against_reference(student, reference, seed_for, "train-l2", {**BASE, "lambda_": 0.03})


@pytest.mark.rule("train.steps_dropout")
@pytest.mark.graded("train_mlp", weight=3)
def test_trained_parameters_match_with_dropout(student, reference, seed_for):
    check_against_reference(student, reference, seed_for, "train-dropout",
                            {**BASE, "keep_prob": 0.75})


@pytest.mark.rule("train.steps_l2_and_dropout")
@pytest.mark.graded("train_mlp", weight=3)
def test_trained_parameters_match_with_l2_and_dropout(student, reference, seed_for):
    check_against_reference(student, reference, seed_for, "train-both",
                            {**BASE, "lambda_": 0.01, "keep_prob": 0.6, "batch_size": 8})


@pytest.mark.rule("train.steps_plain")
@pytest.mark.graded("train_mlp", weight=1)
def test_loss_history_matches_without_regularization(student, reference, seed_for):
    check_against_reference(student, reference, seed_for, "train-plain", BASE, check_loss=True)


@pytest.mark.rule("train.steps_l2")
@pytest.mark.graded("train_mlp", weight=1)
def test_loss_history_matches_with_l2(student, reference, seed_for):
    check_against_reference(student, reference, seed_for, "train-l2", {**BASE, "lambda_": 0.03},
                            check_loss=True)


@pytest.mark.rule("train.steps_l2_and_dropout")
@pytest.mark.graded("train_mlp", weight=1)
def test_loss_history_matches_with_l2_and_dropout(student, reference, seed_for):
    check_against_reference(student, reference, seed_for, "train-both",
                            {**BASE, "lambda_": 0.01, "keep_prob": 0.6, "batch_size": 8},
                            check_loss=True)


@pytest.mark.rule("train.batch_larger_than_n")
@pytest.mark.graded("train_mlp", weight=1)
def test_trained_parameters_match_when_batch_size_exceeds_n(student, reference, seed_for):
    try:
        check_against_reference(student, reference, seed_for, "train-one-batch",
                                {**BASE, "batch_size": 64, "epochs": 2})
    except Failure as failure:
        raise Failure(f"{failure}\nWith batch_size=64 and {SAMPLES} rows, every epoch is one "
                      f"batch of all {SAMPLES} rows: the last batch may be smaller than "
                      "batch_size, and here it is the only one.") from None


@pytest.mark.rule("train.steps_plain")
@pytest.mark.graded("train_mlp", weight=1)
def test_trained_parameters_match_where_relu_inputs_are_zero(student, reference, seed_for):
    """Zero biases (as the lesson initialises them) and rows of X that are all zero make Z1
    and Z2 exactly 0 in those rows: relu's derivative there is 0, ``dZ = dA * (Z > 0)``."""
    params, X, Y = problem(seed_for("train-relu-zero-data"))
    params = {k: np.zeros_like(v) if k[0] == "b" else v for k, v in params.items()}
    X = X.copy()
    X[::4] = 0.0
    check_against_reference(student, reference, seed_for, "train-relu-zero",
                            {**BASE, "epochs": 2}, inputs=(params, X, Y))


@pytest.mark.rule("train.defaults")
@pytest.mark.graded("train_mlp", weight=1)
def test_default_settings_are_the_ones_of_the_signature(student, seed_for):
    params, X, Y = problem(seed_for("train-defaults-data"), n=150)
    seed = seed_for("train-defaults")
    given = student.substituted.train_mlp(params, X, Y, rng=np.random.default_rng(seed),
                                          **DEFAULTS)
    trained(given, params)
    written_out, _ = train_result(given, params, DEFAULTS["epochs"])
    result = student.substituted.train_mlp(params, X, Y, rng=np.random.default_rng(seed))
    new_params, _ = validate.pair(result, "The result of train_mlp (params, history)")
    new_params = validate.mapping(new_params, "The returned params", tuple(params))
    differ = tuple(name for name in train_probe.ORDER if not np.allclose(
        validate.array(new_params[name], f'params["{name}"]', params[name].shape),
        written_out[name], rtol=1e-9, atol=1e-12))
    if differ:
        settings = ", ".join(f"{k}={v}" for k, v in DEFAULTS.items())
        raise Failure("Called as train_mlp(params, X, Y, rng=rng), your train_mlp trained "
                      f"differently from the same call with {settings} written out "
                      f"({train_probe.listed(differ)} differ), so some default in its def "
                      "line is not the assignment's: def train_mlp(params, X, Y, *, lr=0.1, "
                      "epochs=20, batch_size=64, lambda_=0.0, keep_prob=1.0, rng=None).")


@pytest.mark.rule("train.rng_none")
@pytest.mark.graded("train_mlp", weight=1)
def test_rng_none_trains_with_fresh_random_numbers(student, seed_for):
    params, X, Y = problem(seed_for("train-rng-none-data"))
    settings = {**BASE, "keep_prob": 0.5, "epochs": 1}
    first = student.substituted.train_mlp(params, X, Y, rng=None, **settings)
    trained(first, params)
    first, _ = train_result(first, params, 1)
    second, _ = train_result(student.substituted.train_mlp(params, X, Y, rng=None, **settings),
                             params, 1)
    if all(np.array_equal(first[name], second[name]) for name in params):
        raise Failure("Two calls of train_mlp with rng=None and keep_prob=0.5 returned the "
                      "same parameters, so each call starts from the same seed. rng=None "
                      "means a fresh, unseeded generator, np.random.default_rng() with no "
                      "seed, for the permutations and the dropout masks.")


@pytest.mark.rule("train.biases_not_regularized")
@pytest.mark.graded("train_mlp", weight=1)
def test_biases_are_not_regularized(student, reference, seed_for):
    """One step on the whole data set from the same parameters and seed, with ``lambda_=0``
    and with ``lambda_=0.5``. The first step's bias gradients do not involve ``lambda_``, so
    a bias that an L2 term (or a decay) reaches differs between the two runs by a multiple
    of its starting value; a difference of any other form comes from another mistake (for
    example a gradient computed after a weight was updated), which the other tests grade."""
    params, X, Y = problem(seed_for("train-biases-data"))
    one_step = {**BASE, "epochs": 1, "batch_size": SAMPLES}
    after = {}  # lambda_ -> the parameters after one step
    for lam in (0.0, 0.5):
        result = student.substituted.train_mlp(
            params, X, Y, rng=np.random.default_rng(seed_for("train-biases")),
            **{**one_step, "lambda_": lam})
        after[lam], _ = train_result(result, params, 1)
    expected, _ = reference.train_mlp(
        params, X, Y, rng=np.random.default_rng(seed_for("train-biases")), **one_step)
    if not np.allclose(after[0.0]["b3"], expected["b3"], rtol=1e-6, atol=1e-9):
        raise Failure("This check counts only when one plain training step (lambda_=0) "
                      "updates b3 as the contract says, and yours does not (the tests of the "
                      "trained parameters say why).")
    shrunk = tuple(name for name in ("b1", "b2", "b3")
                   if _shrunk_by_lambda(params[name], after[0.0][name], after[0.5][name]))
    if shrunk:
        raise Failure(
            "After one training step from the same parameters, your "
            f"{train_probe.listed(shrunk)} with lambda_=0.5 "
            f"differ{'s' if len(shrunk) == 1 else ''} from lambda_=0 by a multiple "
            "of the starting value, so an L2 term reaches the biases. The L2 term and its "
            "gradient 2 * lambda_ * W belong to W1, W2 and W3 only; the biases are updated "
            "with their plain gradients.")


def _shrunk_by_lambda(start: np.ndarray, plain: np.ndarray, regularized: np.ndarray) -> bool:
    """Whether ``regularized - plain`` is a non-zero multiple of ``start``."""
    difference = (regularized - plain).ravel()
    if np.allclose(regularized, plain, rtol=1e-9, atol=1e-12):
        return False
    start = start.ravel()
    factor = float(difference @ start) / float(start @ start)
    return bool(np.linalg.norm(difference - factor * start) <= 1e-6 * np.linalg.norm(difference))


@pytest.mark.rule("train.rng_order")
@pytest.mark.graded("train_mlp", weight=2)
def test_draws_random_numbers_in_the_required_order(student, reference, seed_for):
    settings = {**BASE, "keep_prob": 0.8, "epochs": 2}
    params, X, Y = problem(seed_for("train-draws-data"))
    seed = seed_for("train-draws")
    rng = np.random.default_rng(seed)
    well_formed(student.substituted.train_mlp(params, X, Y, rng=rng, **settings), params,
                settings["epochs"])
    expected = np.random.default_rng(seed)
    reference.train_mlp(params, X, Y, rng=expected, **settings)
    if rng.bit_generator.state == np.random.default_rng(seed).bit_generator.state:
        raise Failure("train_mlp did not draw any random number from the generator passed as "
                      "rng. Shuffle with order = rng.permutation(n) each epoch and pass the "
                      "same rng to dropout.")
    if rng.bit_generator.state != expected.bit_generator.state:
        raise Failure("train_mlp drew a different amount of random numbers from rng than the "
                      "instructions say: per epoch exactly one rng.permutation(n), and per "
                      "batch one dropout call on A1 then one on A2 (only when keep_prob < 1), "
                      "nothing else (no extra masks in the backward pass, no extra "
                      "permutations).")


@pytest.mark.rule("train.continues_from_params")
@pytest.mark.graded("train_mlp", weight=2)
def test_three_calls_of_one_epoch_equal_one_call_of_three(student, seed_for):
    settings = {**BASE, "keep_prob": 0.9, "lambda_": 0.01}
    params, X, Y = problem(seed_for("train-epochs-data"))
    seed = seed_for("train-epochs")
    result = student.substituted.train_mlp(params, X, Y, rng=np.random.default_rng(seed),
                                           **settings)
    at_once, _ = train_result(result, params, 3)
    trained(result, params)
    rng = np.random.default_rng(seed)
    stepped = params
    for _ in range(3):
        stepped, _ = train_result(student.substituted.train_mlp(
            stepped, X, Y, rng=rng, **{**settings, "epochs": 1}), params, 1)
    for key in PARAM_NAMES:
        diagnose.close_or_explain(
            stepped[key], at_once[key], f'params["{key}"] after three calls with epochs=1',
            lambda: "training must continue from the params passed in and draw only from rng, "
                    "so that three calls of one epoch with the same generator equal one call "
                    "of three epochs (look for state kept between calls or a new generator "
                    "made inside train_mlp).", rtol=1e-6)


def _argument(path: str) -> str:
    """``args[0]['W1']`` as the student wrote it: ``params['W1']``."""
    for index, name in enumerate(("params", "X", "Y")):
        path = path.replace(f"args[{index}]", name)
    return path


@pytest.mark.rule("train.inputs_unchanged")
@pytest.mark.graded("train_mlp", weight=2)
def test_callers_params_dict_and_arrays_are_not_modified(student, seed_for):
    params, X, Y = problem(seed_for("train-mutation-data"))
    settings = {**BASE, "lambda_": 0.01, "keep_prob": 0.8}
    result = student.substituted.train_mlp(params, X, Y, rng=np.random.default_rng(1),
                                           **settings)
    record = student.substituted.last_call
    well_formed(result, params, settings["epochs"])
    trained(result, params)
    # Only paths into the arguments sent are named: the worker reports them, and text of
    # its own choosing must not reach the feedback.
    real = {"args[0]", "args[1]", "args[2]", *(f"args[0]['{name}']" for name in params)}
    in_place = [_argument(path) for path in record.in_place if path in real]
    replaced = [_argument(path) for path in record.mutated
                if path in real and path not in record.in_place]
    problems = []
    if in_place:
        problems.append(f"train_mlp changed arrays passed to it in place: {', '.join(in_place)} "
                        "(for example params['W1'] -= lr * gW1 on the caller's array). Copy "
                        "the parameters first and update the copies.")
    if replaced:
        problems.append(f"train_mlp replaced entries of the caller's dict with new values: "
                        f"{', '.join(replaced)}. No array was changed in place, but the "
                        "caller's params dict now holds the trained parameters, so a second "
                        "training from the same params would not start where the caller "
                        "expects. The dict passed in must stay as it was: make your own, "
                        "P = {k: v.copy() for k, v in params.items()}, and update that.")
    if problems:
        raise Failure("\n".join(problems))


@pytest.mark.rule("train.history_floats")
@pytest.mark.graded("train_mlp", weight=1)
def test_history_loss_is_a_list_of_one_python_float_per_epoch(student, seed_for):
    params, X, Y = problem(seed_for("train-history-data"))
    result = student.substituted.train_mlp(params, X, Y, rng=np.random.default_rng(2),
                                           **{**BASE, "epochs": 5})
    _, history = validate.pair(result, "The result of train_mlp (params, history)")
    history = validate.mapping(history, "history", ("loss",))
    if type(history["loss"]) is not list:
        raise Failure('history["loss"] should be a list, but your code returned '
                      f'{validate.describe(history["loss"])}. Append each epoch\'s loss to a '
                      "list (the other tests convert it, so this is the only test it costs).")
    losses = validate.sequence(history["loss"], 'history["loss"]', 5)
    for i, value in enumerate(losses):
        validate.python_float(value, f'history["loss"][{i}]')
    trained(result, params)


# --- MNIST accuracy -------------------------------------------------------------------------


def mnist_accuracy(student, mnist, config, nn_helpers, record_curve, regularized: bool) -> None:
    """Train on the pinned MNIST split with the lesson's settings; check the test accuracy.

    The loss history is kept for the HTML feedback's plot whatever the accuracy."""
    settings = {**config.MNIST_TRAINING, **(config.MNIST_REGULARIZED if regularized else {})}
    params = nn_helpers.init_params(config.MNIST_LAYERS,
                                    np.random.default_rng(config.MNIST_INIT_SEED))
    result = student.substituted.call(
        "train_mlp",
        args=(params, mnist.X_train, mnist.Y_train),
        kwargs={**settings, "rng": np.random.default_rng(config.MNIST_TRAIN_SEED)},
        timeout=config.TRAINING_TIMEOUT_S,
    )
    with contextlib.suppress(TypeError, KeyError, IndexError, ValueError):
        record_curve("regularized" if regularized else "plain", result[1]["loss"])
    trained, losses = train_result(result, params, settings["epochs"])
    accuracy = nn_helpers.accuracy(trained, mnist.X_test, mnist.y_test)
    needed = config.MNIST_MIN_ACCURACY["regularized" if regularized else "plain"]
    if accuracy < needed:
        label = ", ".join(f"{k}={v}" for k, v in settings.items())
        hint = ""
        if losses[-1] >= losses[0]:
            hint = ("\nThe training loss did not go down "
                    f"({losses[0]:.4g} in the first epoch, {losses[-1]:.4g} in the last).")
        where = localised(student)
        if where:
            hint += f"\nLikely cause: {where}"
        raise Failure(f"Trained on MNIST with {label} (network {config.MNIST_LAYERS}), your "
                      f"train_mlp reaches {accuracy:.1%} test accuracy; a correct training loop "
                      f"reaches at least {needed:.1%}.{hint}")


@pytest.mark.rule("train.learns")
@pytest.mark.graded("train_mlp", weight=6)
def test_mnist_accuracy_without_regularization(student, data, config, nn_helpers, record_curve):
    mnist_accuracy(student, data, config, nn_helpers, record_curve, regularized=False)


@pytest.mark.rule("train.learns")
@pytest.mark.graded("train_mlp", weight=6)
def test_mnist_accuracy_with_l2_and_dropout(student, data, config, nn_helpers, record_curve):
    mnist_accuracy(student, data, config, nn_helpers, record_curve, regularized=True)

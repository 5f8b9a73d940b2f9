"""The regularization assignment as the engine sees it (see :mod:`autograder.assignment`).

Students write ``l2_regularization``, ``dropout`` and ``train_mlp`` in ``regularization.py``
(or the notebook). ``train_mlp`` is graded with known-good versions of the other two in
place, and the hidden suite trains it on the pinned MNIST split.
"""

from __future__ import annotations

from pathlib import Path

from assignments.regularization.grader import data
from autograder.assignment import Curves, DataProblem

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]

MODULE = "regularization"
UPLOAD_STEM = r"regulari[sz]ation"  # how an upload's file name shows it is the solution
FUNCTIONS = ("l2_regularization", "dropout", "train_mlp")
REFERENCE = HERE / "grader" / "reference.py"
NN_HELPERS = HERE / "nn_helpers.py"
HELPERS = (NN_HELPERS,)
STUB = HERE / "regularization.py"
NOTEBOOK = HERE / "regularization.ipynb"
HIDDEN_SUITE = HERE / "tests" / "hidden"
PUBLIC_SUITE = HERE / "tests" / "public"
SAMPLES = PROJECT / "samples" / "class"  # the sample class of the quick start
SPEC = HERE / "SPEC.md"  # the specification: contract text, public by design
# The student bundle of ``autograder release``: the files it ships as they are (beside the
# stub, the notebook and the helpers) and the expected values of its public checks.
RELEASE_FILES = (SPEC, HERE / "release" / "README.md", HERE / "release" / "check.py")
SUBSTITUTES = HERE / "grader" / "known_good.py"
SUBSTITUTED = ("dropout", "l2_regularization")
MISTAKES = HERE / "grader" / "diagnose.py"  # the mistake catalogue the hidden suite uses
# Words only this assignment uses, which the engine must never contain (a kit test searches).
ENGINE_MUST_NOT_NAME = ("mnist", "mlxtend", "lambda_", "keep_prob", "known_good.py")
CURVES = Curves(
    key="mnist_loss", heading="Your training on MNIST",
    intro=("The loss your <code>train_mlp</code> reached in each epoch when the grader "
           "trained it on MNIST, against the range correct training loops stay in."),
    plot_title="MNIST training loss", series="your train_mlp",
    alt="training loss per epoch", band=PROJECT / "calibration" / "mnist_loss_band.json")

_INTEGERS = ("MNIST_INIT_SEED", "MNIST_TRAIN_SEED", "MNIST_SPLIT_SEED")
_REQUIRED = (*_INTEGERS, "MNIST_MIN_ACCURACY", "MNIST_SUBSET_SHA256", "MNIST_TEST_FRACTION",
             "MNIST_LAYERS", "MNIST_TRAINING", "MNIST_REGULARIZED")


def check_config(values: dict) -> tuple[str, str] | None:
    """The MNIST settings of grader_config.py: (setting, problem) for the first bad one."""
    for name in _REQUIRED:
        if name not in values:
            return name, "is missing"
    for name in _INTEGERS:
        if isinstance(values[name], bool) or not isinstance(values[name], int):
            return name, f"must be an integer, got {values[name]!r}"
    thresholds = values["MNIST_MIN_ACCURACY"]
    if not isinstance(thresholds, dict) or set(thresholds) != {"plain", "regularized"}:
        return "MNIST_MIN_ACCURACY", "must have the keys 'plain' and 'regularized'"
    for key, value in thresholds.items():
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            return "MNIST_MIN_ACCURACY", f"has {value!r} for {key}; use 0..1"
    if not 0 < values["MNIST_TEST_FRACTION"] < 1:
        return "MNIST_TEST_FRACTION", "must be between 0 and 1"
    return None


def load_data(config: object) -> object:
    """The pinned MNIST split (checked against its hash), loaded once per batch."""
    try:
        return data.load_split(config)
    except data.helpers().MnistDataError as error:
        raise DataProblem(f"MNIST data: {error}") from error


def build_expectations() -> dict:
    """The public checks' expected values, as plain data for the bundle's expectations.npz."""
    from assignments.regularization.grader import expectations

    return expectations.build()


save_data = data.save
load_saved_data = data.load_saved

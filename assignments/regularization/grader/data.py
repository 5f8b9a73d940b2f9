"""The pinned MNIST split as the grader uses it: the student helper's loader, with the
seed, test share and hash from grader_config.

A batch loads (and checks) the split once, saves it for the run with :func:`save`, and
each student's grading process reads that file with :func:`load_saved`; this spares every
process the second it takes to import scikit-learn and split again.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np

from autograder.assignment import load_helper
from autograder.config import Config

HELPERS_FILE = Path(__file__).resolve().parents[1] / "nn_helpers.py"


def helpers() -> ModuleType:
    """The kit's own ``nn_helpers``, loaded into the trusted process from its file.

    It is registered as ``sys.modules["nn_helpers"]`` so that the reference's
    ``from nn_helpers import ...`` finds this file, whatever else is on ``sys.path``.
    """
    return load_helper(HELPERS_FILE)


def load_split(config: Config) -> object:
    """Load the pinned split; raises ``MnistDataError`` with a fix-it message on failure."""
    return helpers().load_mnist(
        "subset", seed=config.MNIST_SPLIT_SEED, test_fraction=config.MNIST_TEST_FRACTION,
        sha256=config.MNIST_SUBSET_SHA256)


_SPLIT_FIELDS = ("X_train", "Y_train", "X_test", "Y_test", "y_train", "y_test")


def save(split: object, path: Path) -> None:
    """Save a loaded split for the grading processes of one batch."""
    np.savez(path, **{name: getattr(split, name) for name in _SPLIT_FIELDS})


def load_saved(path: Path) -> object:
    """Read a split saved by :func:`save` back as the helpers' ``MnistSplit``, read-only
    through and through: a worker is then sent each array once, without hashing it again
    for every call (``autograder.sandbox.protocol.constant``)."""
    with np.load(path, allow_pickle=False) as saved:
        arrays = {name: saved[name] for name in _SPLIT_FIELDS}
    for array in arrays.values():
        while isinstance(array, np.ndarray):  # and the flat array np.load read it into
            array.flags.writeable = False
            array = array.base
    return helpers().MnistSplit(**arrays)

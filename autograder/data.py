"""The pinned MNIST split as the grader uses it: the student helper's loader, with the
seed, test share and hash from grader_config.

A batch loads (and checks) the split once, saves it for the run with :func:`save`, and
each student's grading process reads that file with :func:`load_saved`; this spares every
process the second it takes to import scikit-learn and split again.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

from autograder.config import Config
from autograder.paths import HELPERS_FILE


@functools.cache
def helpers() -> ModuleType:
    """The kit's own ``nn_helpers``, loaded into the trusted process from its file.

    It is registered as ``sys.modules["nn_helpers"]`` so that the reference's
    ``from nn_helpers import ...`` finds this file, whatever else is on ``sys.path``.
    """
    spec = importlib.util.spec_from_file_location("nn_helpers", HELPERS_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["nn_helpers"] = module
    spec.loader.exec_module(module)
    return module


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
    """Read a split saved by :func:`save` back as the helpers' ``MnistSplit``."""
    with np.load(path, allow_pickle=False) as saved:
        arrays = {name: saved[name] for name in _SPLIT_FIELDS}
    for array in arrays.values():
        array.flags.writeable = False
    return helpers().MnistSplit(**arrays)

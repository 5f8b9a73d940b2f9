"""The pinned MNIST split as the grader uses it: the student helper's loader, with the
seed, test share and hash from grader_config."""

from __future__ import annotations

import functools
import importlib.util
import sys
from types import ModuleType

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

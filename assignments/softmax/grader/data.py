"""scikit-learn's bundled handwritten digits (8x8 images, 1,797 of them) as the suites get
them: scaled to [0, 1], one-hot labels, a stratified split with the seed and test share of
grader_config.py. Loaded on the trusted side once per batch (scikit-learn ships the data:
nothing is downloaded) and saved for the grading processes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

_FIELDS = ("X_train", "Y_train", "X_test", "y_test")


def load(config: object) -> dict[str, np.ndarray]:
    """The split as plain arrays."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = digits.data / 16.0
    y = digits.target
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=config.DIGITS_TEST_FRACTION, random_state=config.DIGITS_SPLIT_SEED,
        stratify=y)
    return {"X_train": X_train, "Y_train": np.eye(10)[y_train], "X_test": X_test,
            "y_test": y_test}


def save(split: dict[str, np.ndarray], path: Path) -> None:
    """Save a loaded split for the grading processes of one batch."""
    np.savez(path, **{name: split[name] for name in _FIELDS})


def load_saved(path: Path) -> dict[str, np.ndarray]:
    """Read a split saved by :func:`save` (read-only arrays)."""
    with np.load(path, allow_pickle=False) as saved:
        split = {name: saved[name] for name in _FIELDS}
    for array in split.values():
        array.flags.writeable = False
    return split

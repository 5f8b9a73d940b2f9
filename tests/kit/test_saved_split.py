"""The split a batch saves for its grading processes is the pinned split, unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assignments.regularization.grader import data
from autograder import config


def test_saved_split_reads_back_identical_and_read_only(tmp_path: Path) -> None:
    split = data.load_split(config.load())
    path = tmp_path / "split.npz"
    data.save(split, path)
    again = data.load_saved(path)
    assert type(again) is type(split)
    for name in ("X_train", "Y_train", "X_test", "Y_test", "y_train", "y_test"):
        original, copy = getattr(split, name), getattr(again, name)
        assert copy.dtype == original.dtype and np.array_equal(copy, original)
        assert not copy.flags.writeable

"""The split a batch saves for its grading processes is the pinned split, unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assignments.regularization.grader import data
from autograder import config, dataset


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


def _same_split(a: object, b: object) -> bool:
    return all(getattr(a, name).dtype == getattr(b, name).dtype
               and np.array_equal(getattr(a, name), getattr(b, name))
               for name in ("X_train", "Y_train", "X_test", "Y_test", "y_train", "y_test"))


def test_the_cached_data_set_is_the_pinned_split_and_a_broken_cache_is_replaced(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REGKIT_CACHE", str(tmp_path / "cache"))
    settings = config.load()
    first = dataset.saved(settings.assignment, settings, tmp_path)
    assert first.parent == tmp_path / "cache"
    assert dataset.saved(settings.assignment, settings, tmp_path) == first  # reused
    assert _same_split(data.load_saved(first), data.load_split(settings))
    first.write_bytes(b"not an npz file")
    again = dataset.saved(settings.assignment, settings, tmp_path)
    assert again == first and _same_split(data.load_saved(again), data.load_split(settings))


def test_without_a_writable_cache_the_data_set_goes_to_the_batch_folder(
        tmp_path: Path, monkeypatch) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("REGKIT_CACHE", str(blocked))
    settings = config.load()
    saved = dataset.saved(settings.assignment, settings, tmp_path)
    assert saved == tmp_path / "data.npz"
    assert _same_split(data.load_saved(saved), data.load_split(settings))

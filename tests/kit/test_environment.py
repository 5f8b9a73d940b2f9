"""Environment variables set for a while (the fork server's one BLAS thread, pytest's
plugin autoload) come back as they were, even when the body raises."""

from __future__ import annotations

import os

import pytest

from autograder import environment


def test_variables_are_set_inside_and_put_back_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGKIT_TEST_SET", "before")
    monkeypatch.delenv("REGKIT_TEST_UNSET", raising=False)
    with environment.temporarily({"REGKIT_TEST_SET": "inside", "REGKIT_TEST_UNSET": "1"}):
        assert os.environ["REGKIT_TEST_SET"] == "inside"
        assert os.environ["REGKIT_TEST_UNSET"] == "1"
    assert os.environ["REGKIT_TEST_SET"] == "before"
    assert "REGKIT_TEST_UNSET" not in os.environ


def test_variables_are_put_back_when_the_body_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGKIT_TEST_UNSET", raising=False)
    with pytest.raises(RuntimeError), environment.temporarily({"REGKIT_TEST_UNSET": "1"}):
        raise RuntimeError("the body failed")
    assert "REGKIT_TEST_UNSET" not in os.environ

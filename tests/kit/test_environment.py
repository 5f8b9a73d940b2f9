"""Environment variables set for a while (the fork server's one BLAS thread, pytest's
plugin autoload) come back as they were, even when the body raises; the workers compute
with the kit's own settings, and the machine's compute tuning can be left out of a
measurement's commands."""

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


def test_the_machines_compute_tuning_is_left_out_and_nothing_else() -> None:
    machine = {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512",
               "GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0", "MKL_DEBUG_CPU_TYPE": "5",
               "OMP_NUM_THREADS": "8", "PATH": "/usr/bin", "HOME": "/root",
               "PYTHONPATH": "/somewhere"}
    assert environment.without_compute_tuning(machine) == {
        "PATH": "/usr/bin", "HOME": "/root", "PYTHONPATH": "/somewhere"}


def test_the_workers_compute_with_one_blas_thread_and_the_reusing_allocator() -> None:
    from autograder.sandbox import launch

    assert environment.ONE_BLAS_THREAD.items() <= launch._WORKER_ENV.items()
    assert environment.REUSING_ALLOCATOR.items() <= launch._WORKER_ENV.items()

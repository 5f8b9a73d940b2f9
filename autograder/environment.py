"""Environment variables set for a while, then put back as they were, and the variables
that keep a process's BLAS (OpenBLAS, OpenMP, MKL) on one thread."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

# Read by the BLAS libraries when numpy loads them: the workers, the batch's fork server
# and the benchmark's bare replays all compute on one thread.
ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@contextlib.contextmanager
def temporarily(values: dict[str, str]) -> Iterator[None]:
    """``values`` in this process's environment for the duration (a process started
    meanwhile inherits them); each variable is then as it was, or unset again."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

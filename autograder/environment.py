"""Environment variables set for a while, then put back as they were, and the settings
the workers compute with: one BLAS thread (OpenBLAS, OpenMP, MKL) and an allocator that
reuses freed memory."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

# Read by the BLAS libraries when numpy loads them: the workers, the batch's fork server
# and the benchmark's bare replays all compute on one thread.
ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

# glibc's allocator gives blocks of 128 KiB and more their own mapping at first and trims
# the heap's top as soon as 128 KiB are free, so student code that allocates and frees
# batch-sized arrays in a loop (a fresh worker's first training loop) maps, faults in and
# unmaps them at every step: hundreds of thousands of page faults and tenths of a second
# of kernel time. Blocks under 32 MiB come from the heap, which keeps up to 256 MiB free:
# the memory is reused instead. The workers' environment sets it.
REUSING_ALLOCATOR = {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=33554432:"
                                       "glibc.malloc.trim_threshold=268435456:"
                                       "glibc.malloc.top_pad=16777216"}

# Prefixes of the variables that choose a BLAS library's kernels or threads, or tune the C
# allocator (OPENBLAS_CORETYPE picks older kernels than the processor has, for example).
# The workers' environment is built from nothing, so they never see such a variable of
# the machine's; a measurement that compares them with plain processes leaves them out.
COMPUTE_TUNING = ("OPENBLAS_", "GOTOBLAS", "GOTO_", "MKL_", "OMP_", "BLIS_", "GLIBC_TUNABLES",
                  "MALLOC_")


def without_compute_tuning(values: dict[str, str]) -> dict[str, str]:
    """``values`` without the variables named by :data:`COMPUTE_TUNING`."""
    return {name: value for name, value in values.items()
            if not name.startswith(COMPUTE_TUNING)}


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

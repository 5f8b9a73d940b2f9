"""A worker reuses the memory its student code frees instead of mapping it afresh.

glibc's default allocator gives every block of 128 KiB or more its own mapping, and trims
the heap as soon as that much is free at its top, so code that allocates and frees
batch-sized arrays in a loop (every training step does) pays a page fault for every 4 KiB
it touches. The workers' environment tunes the allocator against this; the submission
below counts its own page faults while it churns through 256 KiB arrays.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from autograder import config
from autograder.assignment import load as load_assignment
from autograder.grading.submission import stage
from autograder.sandbox import launch as sandbox
from autograder.sandbox.proxy import StudentProxy

ASSIGNMENT = load_assignment("regularization")
STEPS = 500
ARRAY_PAGES = 64  # a 256 KiB array: 64 pages of 4 KiB

SOURCE = textwrap.dedent(f'''
    import resource
    import numpy as np

    def l2_regularization(weights, lambda_):
        """Churn through 256 KiB arrays as a training loop does; return the page faults."""
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for step in range({STEPS}):
            a = np.full(32 * 1024, float(step))   # 256 KiB, touched
            b = a * 2.0                            # another, touched
            del a, b
        return float(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before), []

    def dropout(A, p, training=True, rng=None):
        return A, None

    def train_mlp(params, X, Y, **settings):
        return params, {{"loss": []}}
''')


@pytest.fixture(params=[sandbox.BUBBLEWRAP, sandbox.PROCESS])
def student(request, tmp_path: Path):
    if request.param == sandbox.BUBBLEWRAP and sandbox.isolation() != sandbox.BUBBLEWRAP:
        pytest.fail("bubblewrap with its seccomp filter is not usable here; CI must have it")
    path = tmp_path / "churn.py"
    path.write_text(SOURCE)
    staged = stage("churn", path, tmp_path / "stage", ASSIGNMENT)
    proxy = StudentProxy(staged.stage, config.load(), mode=request.param)
    yield proxy
    proxy.close()


def test_freed_arrays_are_reused_without_new_page_faults(student: StudentProxy) -> None:
    faults, _ = student.l2_regularization([], 0.1)
    untuned = STEPS * 2 * ARRAY_PAGES  # every array mapped and faulted in afresh
    assert faults < untuned / 20, (
        f"{faults:.0f} page faults for {STEPS} steps: freed arrays were mapped afresh "
        f"(about {untuned} faults without reuse)")

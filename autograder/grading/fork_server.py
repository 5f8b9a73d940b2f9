"""The batch's fork server: one per command, the parent of every grading process.

It is :mod:`multiprocessing`'s ``forkserver``, which has imported the grader, pytest, numpy
and matplotlib once (:data:`PRELOAD`, about a second), so that a student costs a fork
instead of an interpreter start-up and its imports. It runs no student code. This module
imports nothing else of the kit but :mod:`autograder.environment`, so that the command can
start the server before its own imports (:mod:`autograder.command`).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
from multiprocessing.context import BaseContext

from autograder import environment

# Imported once by the fork server, inherited by every grading process it forks. pyseccomp
# (the seccomp filter's binding, imported when the first worker is launched) looks for
# libc and libseccomp with ``ldconfig -p`` as it is imported: two processes and about
# 0.01 to 0.02 s before each student's first worker could start. A name that cannot be
# imported is skipped by the server (the filter's own check then explains).
PRELOAD = ["autograder.grading.grade", "autograder.reports.feedback_html", "matplotlib.pyplot",
           "pyseccomp"]

# The server starts with one BLAS thread (``environment.ONE_BLAS_THREAD``). A grading
# process does the grader's arithmetic on one thread anyway (``grade.one_blas_thread``); a
# server whose OpenBLAS had a pool of threads left each forked grading process to start
# that pool again when the limit was set, and its thread spun for about 0.15 s of CPU per
# student after the limit was lifted, taking it from the other grading slots.


def start() -> BaseContext:
    """Start the fork server now if it is not running, without waiting for its imports."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    with environment.temporarily(environment.ONE_BLAS_THREAD):
        multiprocessing.forkserver.ensure_running()
    return context


def ready() -> BaseContext:
    """The fork server once it has finished its imports (a first, empty process has run),
    so that a student's time counts the student's grading process only."""
    context = start()
    warm_up = context.Process(target=os.getpid, name="fork server warm-up")
    warm_up.start()
    warm_up.join()
    warm_up.close()
    return context

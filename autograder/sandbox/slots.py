"""Grading slots held machine-wide, so that two commands never share a slot's sandbox uids.

As root, slot ``k``'s workers run as the uids ``SANDBOX_UID_BASE + 2k`` and ``+ 2k + 1``
(``launch.worker_launch``), and the kernel's process limit counts every process of a uid.
Two batches (or a batch and ``autograder check``) that both used slot 0 shared that limit:
a submission that filled it in one made an honest student's worker fail to start in the
other. A slot is now held with a lock on a file of its own for as long as its command
runs; the kernel lets go of the lock when the process ends, however it ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

MAX_SLOTS = 256  # slot numbers tried; uids up to SANDBOX_UID_BASE + 511
FOLDER = Path("/run/regkit-slots")  # only root writes under /run


@contextlib.contextmanager
def claimed(count: int) -> Iterator[list[int]]:
    """The lowest ``count`` slot numbers no other command on this machine holds, held
    until the block ends. Raises ``OSError`` when fewer than ``count`` are free.

    Without root the workers keep the grader's own uid (the process limit then counts
    the grader's processes too), so the slots are simply ``0 .. count - 1``.
    """
    if os.geteuid() != 0:
        yield list(range(count))
        return
    FOLDER.mkdir(mode=0o700, exist_ok=True)
    held: list[tuple[int, int]] = []
    try:
        for number in range(MAX_SLOTS):
            if len(held) == count:
                break
            handle = os.open(FOLDER / f"slot-{number}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(handle)
                continue
            held.append((number, handle))
        if len(held) < count:
            raise OSError(f"only {len(held)} of the {count} grading slots asked for are free "
                          f"on this machine (other grading commands hold the rest)")
        yield [number for number, _ in held]
    finally:
        for _, handle in held:
            os.close(handle)

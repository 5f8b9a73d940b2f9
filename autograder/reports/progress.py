"""Progress of a grading run on stderr: a bar with the time left on a terminal, plain
lines elsewhere (a log file, CI, a pipe), so logs stay readable.

The batch reports each finished student as a line ``[done/total] name: score (seconds)``;
on a terminal those lines advance a tqdm bar whose estimate of the time left comes from
the students graded so far, and every other line is printed above the bar.
"""

from __future__ import annotations

import re
import sys
import time
from typing import TextIO

from tqdm import tqdm

_FINISHED = re.compile(r"^\[(\d+)/(\d+)\] ")


class Progress:
    """A ``log`` callable for :func:`autograder.grading.batch.grade_class`."""

    def __init__(self, stream: TextIO | None = None, bar: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.bar_wanted = self.stream.isatty() if bar is None else bar
        self._bar: tqdm | None = None
        self._started = time.time()

    def __call__(self, message: str) -> None:
        finished = _FINISHED.match(message)
        if not self.bar_wanted or finished is None:
            self._write(message)
            return
        done, total = int(finished.group(1)), int(finished.group(2))
        if self._bar is None:
            self._bar = tqdm(total=total, file=self.stream, unit="student", dynamic_ncols=True,
                             desc="grading")
            self._bar.start_t = self._started  # the estimate counts from the batch's start
        self._bar.total = total
        self._bar.set_postfix_str(message[finished.end():].split(":")[0][:30])
        self._bar.update(done - self._bar.n)
        if done == total:
            self.close()

    def _write(self, message: str) -> None:
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
        else:
            print(message, file=self.stream, flush=True)

    def close(self) -> None:
        """End the bar (leaving it on screen); later lines print normally."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

"""The ``autograder`` command's entry point (the console script and ``python -m autograder``).

Before the command line's own modules are imported (the grader, pytest, numpy: about
0.4 s), a command that will grade a class on this machine starts the batch's fork server,
whose imports take about a second. The two then run side by side instead of one after the
other, and the first student starts that much sooner. Telling such a command apart reads
the arguments before the parser does; a wrong guess costs nothing but an idle server (it
stops with the command), and the grade command starts the server itself when it is not
running.
"""

from __future__ import annotations

import gc
import sys

from autograder.grading import fork_server


def grades_here(argv: list[str]) -> bool:
    """True when ``argv`` (without the program name) is ``grade`` on this machine: the first
    word that is not the top-level ``--config`` option is ``grade``, and neither
    ``--cluster`` nor a help option is given."""
    words = iter(argv)
    for word in words:
        if word == "--config":
            next(words, None)
        elif not word.startswith("--config="):
            return word == "grade" and not any(
                arg in ("-h", "--help") or arg.startswith("--cluster") for arg in argv)
    return False


def main() -> int:
    """Run the ``autograder`` command."""
    if grades_here(sys.argv[1:]):
        fork_server.start()
    from autograder.cli import main as run_command_line

    try:
        return run_command_line()
    finally:
        # The interpreter's shutdown collects garbage over every object still alive (the
        # grader's, pytest's, numpy's, matplotlib's): 0.2 to 0.4 s after a grade command
        # had written its last line. Frozen objects are not walked; the process ends.
        gc.freeze()

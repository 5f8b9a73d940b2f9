"""The self-check's report: a per-function table, each failure explained, and a verdict.

``autograder check`` and ``check.py`` print their results with :func:`render`, so the two
look the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Outcome:
    """The result of one public check."""

    function: str
    name: str
    passed: bool
    message: str = ""
    output: str = ""


def render(target: str, outcomes: Sequence[Outcome], error: str = "",
           notes: Sequence[str] = (), *, functions: Sequence[str]) -> tuple[str, bool]:
    """The report's text, and whether every check passed (a row per one of ``functions``)."""
    lines = [f"Public tests for {target}", ""]
    if error:
        lines += [f"Problem: {error}", ""]
    lines.append(f"{'function':<20} {'passed':>8}")
    for function in functions:
        tests = [o for o in outcomes if o.function == function]
        lines.append(f"{function:<20} {sum(o.passed for o in tests):>3} / {len(tests):<3}")
    failed = [o for o in outcomes if not o.passed]
    for outcome in failed:
        lines += ["", f"FAILED {outcome.function}: {outcome.name}", outcome.message]
        if outcome.output:
            lines += [f"Your code printed:\n{outcome.output}"]
    if notes:
        lines.append("")
    lines += [f"not run: {note}" for note in notes]
    passed = bool(outcomes) and not failed and not error
    if passed:
        verdict = "All public tests passed."
    elif outcomes:
        verdict = f"{len(failed)} public test(s) failed."
    else:
        verdict = "No public test could run: fix the problem above first."
    lines += ["", verdict]
    return "\n".join(lines), passed

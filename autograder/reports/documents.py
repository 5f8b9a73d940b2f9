"""Report formats: per student ``results.json`` (Gradescope's format) and ``feedback.md``;
per class ``gradebook.csv``.

Every file is written atomically (temporary file, then rename), so an interrupted batch
never leaves a half-written report, and a finished student's ``results.json`` marks them
as done for the next run. Nothing here depends on timing, so grading the same batch
twice gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

RESULTS_FILE = "results.json"
FEEDBACK_FILE = "feedback.md"
GRADEBOOK_FILE = "gradebook.csv"
TIMINGS_FILE = "timings.csv"
# Files a batch writes beside the students' folders: no student may be named like one.
TESTS_FILE = "tests.csv"
REPORT_FILE = "report.html"
BATCH_FILES = (GRADEBOOK_FILE, TIMINGS_FILE, TESTS_FILE, REPORT_FILE)
MAX_TEXT = 4000


class GradeResult(Protocol):
    """What the reports read of one graded submission
    (:class:`autograder.grading.grade.GradeResult` has it; reports never import grading)."""

    student: str
    kind: str
    isolation: str
    max_score: float
    tests: list[Any]
    error: str
    notes: list[str]
    output: str
    curves: dict[str, list[float]]
    curves_key: str
    functions: tuple[str, ...]

    @property
    def score(self) -> float: ...

    @property
    def per_function(self) -> dict[str, float]: ...


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # as open() would: the group may read it
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n[... {len(text) - limit} more]"


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _fenced(text: str, info: str = "text") -> list[str]:
    """``text`` as a Markdown code block whose fence is longer than any backtick run inside,
    so that student text can never close it and render as Markdown. Control characters
    are written out (``\\x1b``): an escape sequence printed by a submission would
    otherwise act on the terminal of whoever reads feedback.md with ``cat``."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text.replace("\r\n", "\n"))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, text, fence]


def results_json(result: GradeResult, fingerprint: str) -> dict:
    """The Gradescope autograder results document for one student."""
    tests = []
    for number, scored in enumerate(result.tests, start=1):
        outcome = scored.outcome
        text = outcome.message
        if outcome.output:
            text += "\n\nYour code printed:\n" + outcome.output
        tests.append({
            "name": f"{outcome.function}: {outcome.name}",
            "number": str(number),
            "score": round(scored.points, 4),
            "max_score": round(scored.max_points, 4),
            "status": "passed" if outcome.passed else "failed",
            "output": _clip(text),
            "tags": [outcome.function],
            "visibility": "visible",
        })
    return {
        "score": result.score,
        "output": _clip(result.error) if result.error else "",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "student": result.student,
            "max_score": result.max_score,
            "per_function": result.per_function,
            "isolation": result.isolation,
            "kind": result.kind,
            "error": _clip(result.error),
            "notes": result.notes[:200],
            "grader_errors": sum(1 for t in result.tests if t.outcome.grader_error),
            "fingerprint": fingerprint,
            **({result.curves_key: result.curves} if result.curves_key else {}),
        },
    }


def feedback_markdown(result: GradeResult) -> str:
    """The student's feedback: score per function, then each lost point explained."""
    lines = [f"# Feedback for {result.student}", "",
             f"**Score: {result.score:g} / {result.max_score:g}**", ""]
    if result.error:
        lines += ["## Problem with the submission", "", *_fenced(_clip(result.error)), ""]
    if result.tests:
        lines += ["| function | points | tests passed |", "|---|---|---|"]
        for function in result.functions:
            tests = [t for t in result.tests if t.outcome.function == function]
            worth = sum(t.max_points for t in tests)
            passed = sum(t.outcome.passed for t in tests)
            lines.append(f"| `{function}` | {result.per_function[function]:g} / {worth:g} | "
                         f"{passed} / {len(tests)} |")
        lines.append("")
    failed = [t for t in result.tests if not t.outcome.passed]
    if failed:
        lines += ["## What lost points", ""]
        groups: dict[tuple, list] = {}  # identical failures are explained once
        for scored in failed:
            outcome = scored.outcome
            groups.setdefault((outcome.function, outcome.message, outcome.output), []).append(
                scored)
        for (function, message, output), members in groups.items():
            lost = sum(s.max_points for s in members)
            if len(members) == 1:
                lines += [f"### `{function}`: {members[0].outcome.name} (-{lost:.2f} points)",
                          ""]
            else:
                lines += [f"### `{function}`: {len(members)} tests with the same problem "
                          f"(-{lost:.2f} points)", ""]
                lines += [f"- {s.outcome.name}" for s in members] + [""]
            lines += [*_fenced(_clip(message)), ""]
            if output:
                lines += ["Your code printed:", "", *_fenced(_clip(output, 2000)), ""]
    elif result.tests:
        lines += ["Every test passed. Well done!", ""]
    if result.notes:
        lines += ["## Not graded", "",
                  "These parts of your submission were not run when grading (only imports, "
                  "functions, classes and constants are):", ""]
        lines += [*_fenced("\n".join(f"- {note}" for note in result.notes[:50])), ""]
    if result.output.strip():
        lines += ["## Output of your code while loading", "",
                  *_fenced(_clip(result.output, 8000)), ""]
    return "\n".join(lines)


def results_text(document: dict) -> str:
    """A results document as ``results.json`` holds it (sorted keys: byte-stable)."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def read_results(folder: Path) -> dict | None:
    """A student's results document, or None if missing or unreadable."""
    try:
        return json.loads((folder / RESULTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def gradebook_header(functions: tuple[str, ...]) -> list[str]:
    """The gradebook's columns: one per graded function between the totals and the rest."""
    return ["student", "score", "max_score", *functions, "isolation", "kind", "error"]


def spreadsheet_text(text: str) -> str:
    """``text`` as a spreadsheet shows it: a cell starting with ``=``, ``+``, ``-`` or ``@``
    is a formula to Excel, LibreOffice and Google Sheets, so it gets a leading apostrophe
    (an error message may start with a file name the student chose; student names are
    made of letters, digits, ``_`` and ``-`` only)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def gradebook_row(results: dict, functions: tuple[str, ...]) -> list:
    """One gradebook row from a results document."""
    extra = results["extra_data"]
    error = " ".join(extra["error"].split())
    return [extra["student"], f"{results['score']:g}", f"{extra['max_score']:g}",
            *(f"{extra['per_function'][f]:g}" for f in functions),
            extra["isolation"], extra["kind"], spreadsheet_text(error[:300])]


def write_gradebook(out: Path, students: list[str], functions: tuple[str, ...]) -> Path:
    """Write ``gradebook.csv`` for ``students`` (sorted) from their results documents."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(gradebook_header(functions))
    for student in sorted(students):
        results = read_results(out / student)
        if results is not None:
            writer.writerow(gradebook_row(results, functions))
    path = out / GRADEBOOK_FILE
    write_atomically(path, buffer.getvalue())
    return path

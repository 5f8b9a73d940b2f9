"""Learning-management-system exports: Canvas's gradebook import and the per-test CSV.

``autograder export canvas`` joins ``gradebook.csv`` with a roster (Canvas's own gradebook
export, or any CSV with a key column) and writes the file Canvas's gradebook import
takes: ``Student, ID, SIS User ID, SIS Login ID, Section`` and one column for the
assignment. Identifiers are copied as text, never as numbers, so leading zeros survive.
Students on one side only are listed, never guessed.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder import config as config_module
from autograder.reports import documents as reports

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
TESTS_FILE = reports.TESTS_FILE
TESTS_HEADER = ("student", "test", "function", "points", "max_points", "status")
_POINTS_POSSIBLE = "points possible"


class ExportProblem(ValueError):
    """An input file of an export cannot be used; the message names it and the fix."""


@dataclass
class Join:
    """The Canvas rows and the students found on one side only."""

    rows: list[dict[str, str]]
    max_score: str
    not_in_roster: list[str] = field(default_factory=list)
    not_graded: list[str] = field(default_factory=list)


def _read_csv(path: Path, what: str) -> list[dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ExportProblem(f"{what} {path} does not exist.") from None
    except IsADirectoryError:
        raise ExportProblem(f"{what} {path} is a folder; give the CSV file.") from None
    except UnicodeDecodeError:
        raise ExportProblem(f"{what} {path} is not UTF-8 text; save it as 'CSV UTF-8'."
                            ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise ExportProblem(f"{what} {path} is empty.")
    return list(reader)


def _normal(name: str) -> str:
    """A name as the grader writes student names, compared without case."""
    return re.sub(r"[^\w.-]", "_", name.strip()).casefold()


def _is_student(row: dict[str, str]) -> bool:
    """Canvas exports carry a 'Points Possible' row and sometimes a 'Test Student'."""
    name = (row.get("Student") or "").strip().casefold()
    return name != _POINTS_POSSIBLE and name not in ("test student", "student, test")


def join(gradebook: Path, roster: Path, key: str) -> Join:
    """Match each gradebook student to the roster row whose ``key`` names them."""
    graded = _read_csv(gradebook, "gradebook")
    if not graded or not {"student", "score", "max_score"} <= set(graded[0]):
        raise ExportProblem(f"gradebook {gradebook} lacks the columns student, score and "
                            "max_score; give the gradebook.csv that 'autograder grade' wrote.")
    people = [row for row in _read_csv(roster, "roster") if _is_student(row)]
    columns = list(people[0]) if people else []
    if key not in columns:
        raise ExportProblem(f"roster {roster} has no column {key!r} (it has: "
                            f"{', '.join(columns) or 'no rows'}); pass --key with the column "
                            "that holds the names the submissions were graded under.")
    seen: set[str] = set()
    for row in people:
        value = _normal(row[key])
        if value and value in seen:
            raise ExportProblem(f"roster {roster}: {row[key]!r} appears twice in column "
                                f"{key!r}; each student must appear once.")
        seen.add(value)
    scores = {_normal(row["student"]): row for row in graded}
    result = Join(rows=[], max_score=graded[0]["max_score"])
    result.not_in_roster = sorted(row["student"] for name, row in scores.items()
                                  if name not in seen)
    for person in people:
        found = scores.get(_normal(person[key])) if person[key].strip() else None
        if found is None:
            result.not_graded.append(person[key] or person.get("Student", ""))
        row = {column: person.get(column, "") for column in CANVAS_COLUMNS}
        row["score"] = found["score"] if found else ""
        result.rows.append(row)
    return result


def canvas_csv(joined: Join, assignment: str) -> str:
    """Canvas's gradebook import: the five student columns and the assignment's column."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*CANVAS_COLUMNS, assignment])
    writer.writerow(["    Points Possible", "", "", "", "", joined.max_score])
    for row in joined.rows:
        writer.writerow([*(row[c] for c in CANVAS_COLUMNS), row["score"]])
    return buffer.getvalue()


def tests_csv(out: Path, students: list[str]) -> str:
    """One row per student and test: the per-test table nbgrader users export."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TESTS_HEADER)
    for student in sorted(students):
        results = reports.read_results(out / student)
        for test in (results or {}).get("tests", []):
            function = test["tags"][0] if test.get("tags") else ""
            name = test["name"].removeprefix(f"{function}: ")
            writer.writerow([student, name, function, f"{test['score']:g}",
                             f"{test['max_score']:g}", test["status"]])
    return buffer.getvalue()


def write_tests_csv(out: Path, students: list[str]) -> Path:
    """Write ``out/tests.csv`` from the students' results documents."""
    path = out / TESTS_FILE
    reports.write_atomically(path, tests_csv(out, students))
    return path


def _export_canvas(args: argparse.Namespace) -> int:
    target = Path(args.out)
    if target.is_dir():
        raise ExportProblem(f"--out {target} is a folder; give the CSV file to write, for "
                            "example canvas.csv.")
    if not target.parent.is_dir():
        raise ExportProblem(f"--out {target}: folder {target.parent} does not exist.")
    joined = join(Path(args.gradebook), Path(args.roster), args.key)
    column = args.assignment or config_module.load(args.config).assignment.name.capitalize()
    reports.write_atomically(target, canvas_csv(joined, column))
    print(f"wrote {target}: {len(joined.rows)} roster students, "
          f"{len(joined.rows) - len(joined.not_graded)} with a score", file=sys.stderr)
    if joined.not_graded:
        print(f"{len(joined.not_graded)} roster student(s) without a graded submission "
              "(score left empty, so Canvas keeps what it has): "
              + ", ".join(joined.not_graded), file=sys.stderr)
    if joined.not_in_roster:
        print(f"{len(joined.not_in_roster)} graded student(s) not in the roster (not "
              f"exported; check --key {args.key!r}): " + ", ".join(joined.not_in_roster),
              file=sys.stderr)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``autograder export canvas`` to the command line."""
    parser = commands.add_parser("export", help="export grades for a learning platform",
                                 description="Export grades for a learning platform.")
    targets = parser.add_subparsers(dest="target", required=True)
    canvas = targets.add_parser(
        "canvas", help="Canvas gradebook import CSV",
        description="Join gradebook.csv with a Canvas roster (the gradebook export of the "
                    "course) and write a CSV for Canvas's Grades > Import. Students found on "
                    "one side only are listed on stderr.")
    canvas.add_argument("--gradebook", required=True, help="the gradebook.csv of a grading run")
    canvas.add_argument("--roster", required=True,
                        help="CSV with the columns Student, ID, SIS User ID, SIS Login ID, "
                             "Section (Canvas's gradebook export)")
    canvas.add_argument("--out", required=True, help="the CSV file to write")
    canvas.add_argument("--key", default="SIS Login ID",
                        help="roster column that holds the names the submissions were graded "
                             "under (default: SIS Login ID)")
    canvas.add_argument("--assignment", default=None,
                        help="the assignment column; use Canvas's 'Name (id)' to update an "
                             "existing assignment (default: the assignment's name, "
                             "capitalised)")
    canvas.set_defaults(run=_export_canvas)

"""Learning-management-system exports: Canvas's gradebook import and the per-test CSV.

``autograder export canvas`` joins ``gradebook.csv`` with a roster (Canvas's own gradebook
export, or any CSV with a key column) and writes the file Canvas's gradebook import
takes: ``Student, ID, SIS User ID, SIS Login ID, Section`` and one column for the
assignment. Identifiers are copied as text, never as numbers, so leading zeros survive.
Students on one side only are listed, never guessed: a key is compared as the grader
names a student from its file name, and a file of Canvas's bulk download
(``<name>_<user id>_<submission id>_<file>``) matches the roster's ``ID``.
"""

from __future__ import annotations

import argparse
import collections
import csv
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder import config as config_module
from autograder.grading import submission
from autograder.reports import documents as reports

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
TESTS_FILE = reports.TESTS_FILE
TESTS_HEADER = ("student", "test", "function", "points", "max_points", "status")
_POINTS_POSSIBLE = "points possible"


class ExportProblem(ValueError):
    """An input file of an export cannot be used; the message names it and the fix."""


@dataclass
class Join:
    """The Canvas rows, the students found on one side only and the roster rows skipped
    because their key cell is empty (Canvas's 'Manual Posting' row, for one)."""

    rows: list[dict[str, str]]
    max_score: str
    not_in_roster: list[str] = field(default_factory=list)
    not_graded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _read_csv(path: Path, what: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV file; a row that does not fit the header is
    refused with its line number rather than read with missing cells."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ExportProblem(f"{what} {path} does not exist.") from None
    except IsADirectoryError:
        raise ExportProblem(f"{what} {path} is a folder; give the CSV file.") from None
    except UnicodeDecodeError:
        raise ExportProblem(f"{what} {path} is not UTF-8 text; save it as 'CSV UTF-8'."
                            ) from None
    records = _records(text, f"{what} {path}")
    if not records or not any(cell.strip() for cell in records[0]):
        raise ExportProblem(f"{what} {path} is empty.")
    header = records[0]
    return header, [dict(zip(header, cells[:len(header)], strict=True))
                    for cells in records[1:]]


def _records(text: str, label: str) -> list[list[str]]:
    """The non-blank CSV rows, each as wide as the first (the header); the first row that
    is not, or a quote left open, is refused with the line it starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[list[str]] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return records
        except csv.Error as error:
            raise ExportProblem(f"{label}, line {line}: cannot be read as CSV ({error}), "
                                f"probably an unbalanced double quote; {_FIX_ROW}") from None
        if cells and records:
            _check_width(cells, len(records[0]), f"{label}, line {line}")
        if cells:
            records.append(cells)


_FIX_ROW = ("every row needs one value per column of the header, and a value that holds a "
            "comma, a double quote or a line break must be in double quotes (its own quotes "
            "doubled); fix that line, or export the file again.")


def _check_width(cells: list[str], width: int, label: str) -> None:
    """Refuse a row with fewer cells than the header, or with more that are not empty:
    its values would land in the wrong columns."""
    if len(cells) < width or any(cell.strip() for cell in cells[width:]):
        raise ExportProblem(f"{label}: {len(cells)} value(s) where the header has "
                            f"{width}; {_FIX_ROW}")


def student_key(name: str) -> str:
    """``name`` as the grader names a student, compared without case or surrounding
    spaces: :func:`autograder.grading.submission.survey` turns every character of a file
    name but letters, digits, ``_`` and ``-`` into ``_``, so the login ``j.doe`` is the
    student ``j_doe``."""
    return submission.student_name(name.strip()).casefold()


# Canvas's bulk download names files <name>_[LATE_]<user id>_<submission id>_<file name>
_CANVAS_DOWNLOAD = re.compile(r"[^_]+_(?:late_)?(\d+)_\d+_.")


def _canvas_user_id(student: str) -> str | None:
    """The Canvas user id in a student named after a file of Canvas's bulk download."""
    found = _CANVAS_DOWNLOAD.match(student.casefold())
    return found.group(1) if found else None


def _is_student(row: dict[str, str]) -> bool:
    """Canvas exports carry a 'Points Possible' row and sometimes a 'Test Student'."""
    name = (row.get("Student") or "").strip().casefold()
    return name != _POINTS_POSSIBLE and name not in ("test student", "student, test")


def _read_gradebook(gradebook: Path) -> list[dict[str, str]]:
    """The rows of the ``gradebook.csv`` that ``autograder grade`` wrote."""
    header, graded = _read_csv(gradebook, "gradebook")
    if not {"student", "score", "max_score"} <= set(header):
        raise ExportProblem(f"gradebook {gradebook} lacks the columns student, score and "
                            "max_score; give the gradebook.csv that 'autograder grade' wrote.")
    if not graded:
        raise ExportProblem(f"gradebook {gradebook} lists no student; give the "
                            "gradebook.csv of a run that graded the submissions.")
    return graded


def _read_roster(roster: Path, key: str) -> tuple[list[dict[str, str]], list[str]]:
    """The roster's students that have a ``key``, and the names of the rows skipped
    because their ``key`` cell is empty."""
    header, rows = _read_csv(roster, "roster")
    if key not in header:
        raise ExportProblem(f"roster {roster} has no column {key!r} (it has: "
                            f"{', '.join(header)}); pass --key with the column that holds "
                            "the names the submissions were graded under.")
    people = [row for row in rows if _is_student(row)]
    skipped = [row.get("Student", "").strip() for row in people if not row[key].strip()]
    return [row for row in people if row[key].strip()], skipped


def _by_key(people: list[dict[str, str]], key: str, roster: Path) -> dict[str, int]:
    """The index of each roster row by :func:`student_key` of its ``key``; two rows naming
    the same student are refused, since either could get the other's score."""
    found: dict[str, int] = {}
    for index, row in enumerate(people):
        name = student_key(row[key])
        if name in found:
            raise ExportProblem(
                f"roster {roster}: student {name!r} appears twice in column {key!r}, as "
                f"{people[found[name]][key]!r} and {row[key]!r} (the grader turns characters "
                "other than letters, digits, _ and - into _ and ignores case); each student "
                "must appear once: remove one row, or pass --key with a column that tells "
                "them apart.")
        found[name] = index
    return found


def _by_canvas_id(people: list[dict[str, str]]) -> dict[str, int]:
    """The index of each roster row by Canvas's user id (column ``ID``), for names of
    Canvas's bulk download; an id on two rows is left out rather than guessed."""
    ids = [row.get("ID", "").strip() for row in people]
    counts = collections.Counter(ids)  # once: a MOOC's roster has thousands of rows
    return {i: index for index, i in enumerate(ids) if i and counts[i] == 1}


def _match(graded: list[dict[str, str]], people: list[dict[str, str]], key: str,
           roster: Path) -> tuple[dict[int, dict[str, str]], list[str]]:
    """The graded row of each roster row (by index), and the graded students no roster row
    names: matched on ``key`` first, else on the Canvas user id of a bulk-download name."""
    by_key, by_id = _by_key(people, key, roster), _by_canvas_id(people)
    matched: dict[int, dict[str, str]] = {}
    missing = []
    for score in graded:
        student = score["student"]
        index = by_key.get(student_key(student), by_id.get(_canvas_user_id(student) or ""))
        if index is None:
            missing.append(student)
        elif index in matched:
            raise ExportProblem(
                f"graded students {matched[index]['student']!r} and {student!r} both match "
                f"roster student {people[index].get('Student') or people[index][key]!r}; "
                "keep one submission per student in the submissions folder and grade again.")
        else:
            matched[index] = score
    return matched, sorted(missing)


def _nothing_matched(graded: list[dict[str, str]], people: list[dict[str, str]], key: str,
                     roster: Path) -> ExportProblem:
    """The problem when no roster row names a graded student: almost always a wrong --key."""
    if not people:
        return ExportProblem(f"roster {roster} lists no student with a value in column "
                             f"{key!r}; give the course's gradebook export from Canvas, or "
                             "pass --key with the column that holds the students' names.")
    ours = ", ".join(repr(row["student"]) for row in graded[:2])
    theirs = ", ".join(repr(row[key]) for row in people[:2])
    return ExportProblem(
        f"no roster student matched a graded student: roster {roster} was matched on its "
        f"column {key!r}, which holds {theirs}, while the gradebook's students are {ours}. "
        "Pass --key with the roster column that holds the names the submissions were "
        "graded under (their file names); nothing was written.")


def join(gradebook: Path, roster: Path, key: str) -> Join:
    """Match each gradebook student to the roster row whose ``key`` names them."""
    graded = _read_gradebook(gradebook)
    people, skipped = _read_roster(roster, key)
    matched, missing = _match(graded, people, key, roster)
    if not matched:
        raise _nothing_matched(graded, people, key, roster)
    result = Join(rows=[], max_score=graded[0]["max_score"], not_in_roster=missing,
                  skipped=skipped)
    for index, person in enumerate(people):
        found = matched.get(index)
        if found is None:
            result.not_graded.append(person[key])
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
    if joined.skipped:
        named = [name for name in joined.skipped if name]
        print(f"{len(joined.skipped)} roster row(s) skipped, their {args.key!r} cell being "
              "empty (Canvas's 'Manual Posting' row, or students without one)"
              + (": " + ", ".join(named) if named else ""), file=sys.stderr)
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
                             "under, compared as the grader names files (j.doe matches "
                             "j.doe.py); Canvas bulk-download names also match the ID "
                             "column (default: SIS Login ID)")
    canvas.add_argument("--assignment", default=None,
                        help="the assignment column; use Canvas's 'Name (id)' to update an "
                             "existing assignment (default: the assignment's name, "
                             "capitalised)")
    canvas.set_defaults(run=_export_canvas)

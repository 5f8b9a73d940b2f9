"""nbgrader: the source notebook, nbgrader's submission layout, and its gradebook.

A course that runs nbgrader uses the kit in four places:

- :func:`write_source` writes ``<dest>/nbgrader/source/<assignment>/`` (the source
  notebook, with the reference's solutions between nbgrader's markers and each graded
  function's solution cell worth its points in ``grader_config.POINTS``, plus the
  assignment's helper files).
  ``nbgrader generate_assignment`` turns it into the student version.
- ``autograder grade COURSE/submitted`` (or ``autograded``) recognises nbgrader's
  ``<student>/<assignment>/<notebook>.ipynb`` layout (:mod:`autograder.grading.nbgrader_layout`),
  keeping nbgrader's student ids exactly as they are.
- ``autograder nbgrader-export OUT --course COURSE`` (:func:`export`) writes each student's
  per-function scores into nbgrader's gradebook with nbgrader's own API, so that
  ``nbgrader export`` and formgrader show the totals of ``gradebook.csv``, and writes the
  feedback as HTML where ``nbgrader release_feedback`` ships it.

The assignment's name is nbgrader's assignment name, its module names the submission
file, its ``NOTEBOOK`` the notebook. Every command works on the assignment of the config
in use (``autograder --config ... release|grade|nbgrader-export``; the kit's own
``grader_config.py`` by default).
"""

from __future__ import annotations

import html
import shutil
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from autograder import config as config_module
from autograder.assignment import Assignment
from autograder.reports import documents as reports


@dataclass(frozen=True)
class _Target:
    """Where in nbgrader's gradebook the kit's grades go: the nbgrader assignment's name,
    its notebook's name (the file name without ``.ipynb``) and, per graded function, the id
    of the source notebook's cell holding it."""

    assignment: str
    notebook: str
    cells: dict[str, str]


def write_source(dest_dir: Path, points: dict[str, float] | None = None,
                 config: config_module.Config | None = None) -> Path:
    """Write the nbgrader source assignment under ``dest_dir`` and return the notebook's path.

    ``dest_dir/nbgrader/source/<assignment>/`` receives the assignment of ``config`` (by
    default the kit's ``grader_config.py``): its notebook and helper files; copy the
    ``source`` folder into the course (or make ``dest_dir/nbgrader`` the course) and run
    ``nbgrader generate_assignment <assignment>``. ``points`` per function default to the
    config's ``POINTS``.
    """
    from autograder import stubgen

    config = config_module.load() if config is None else config
    points = dict(config.POINTS) if points is None else points
    assignment = config.assignment
    notebook = stubgen.make_nbgrader_source(stubgen.Lesson.of(assignment), points)
    folder = Path(dest_dir) / "nbgrader" / "source" / assignment.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / assignment.notebook.name
    path.write_text(stubgen.render_notebook(notebook), encoding="utf-8")
    for helper in assignment.helpers:
        shutil.copyfile(helper, folder / helper.name)
    return path


# --- Export into nbgrader's gradebook ---------------------------------------------------


class NbgraderExportError(RuntimeError):
    """The export cannot run; the message says what is wrong and what to do."""


@dataclass
class ExportSummary:
    """What :func:`export` wrote, into which nbgrader assignment."""

    assignment: str = ""
    students: list[str] = field(default_factory=list)
    feedback: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _course_directory(course: Path):
    """nbgrader's ``CourseDirectory`` for ``course``, configured by its nbgrader_config.py."""
    try:
        from nbgrader.coursedir import CourseDirectory
    except ImportError as error:
        raise NbgraderExportError(
            f"nbgrader is not installed here ({error}); install it with "
            "`pip install nbgrader` in the kit's environment.") from error
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (course / "nbgrader_config.py").is_file():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(course.resolve())
    return coursedir


def _target(assignment: Assignment, name: str | None) -> _Target:
    """The gradebook target of ``assignment``, under the nbgrader name ``name`` (default:
    the assignment's own name)."""
    from autograder import stubgen

    lesson = stubgen.Lesson.of(assignment)
    cells = {cell.function: cell.cell_id for cell in lesson.cells() if cell.kind == "function"}
    return _Target(name or assignment.name, assignment.notebook.stem, cells)


def _student_results(out: Path) -> dict[str, dict]:
    """Student id -> results document, for every student graded into ``out``."""
    results = {}
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        document = reports.read_results(folder)
        if document is not None:
            results[folder.name] = document
    return results


def _comment(function: str, document: dict) -> str:
    """The formgrader comment of one function: its score and each failed test by name."""
    tests = [t for t in document["tests"] if t["tags"] == [function]]
    failed = [t for t in tests if t["status"] != "passed"]
    earned = document["extra_data"]["per_function"][function]
    lines = [f"Autograder: {earned:g} points, {len(tests) - len(failed)} of {len(tests)} "
             "tests passed."]
    lines += [f"- failed: {t['name'].split(': ', 1)[-1]}" for t in failed[:20]]
    if document["extra_data"]["error"] and not tests:
        lines.append(document["extra_data"]["error"][:1000])
    return "\n".join(lines)


def _timestamp(coursedir, student: str, assignment: str) -> datetime | None:
    """When the student submitted (``timestamp.txt`` of the submitted, else autograded,
    folder, as nbgrader reads it), or None when it is missing or unreadable. nbgrader's
    late penalties and ``nbgrader export`` need it on the submission."""
    from nbgrader.utils import parse_utc

    for directory in (coursedir.submitted_directory, coursedir.autograded_directory):
        path = Path(coursedir.format_path(directory, student, assignment)) / "timestamp.txt"
        try:
            return parse_utc(path.read_text(encoding="utf-8").strip())
        except (OSError, UnicodeDecodeError, ValueError, TypeError):
            continue
    return None


def _write_scores(gradebook, target: _Target, student: str, document: dict,
                  timestamp: datetime | None = None) -> None:
    """Set the manual score and comment of each graded cell from the kit's results, and
    the submission's ``timestamp`` when known."""
    gradebook.update_or_create_student(student)
    gradebook.update_or_create_submission(
        target.assignment, student, **({"timestamp": timestamp} if timestamp else {}))
    per_function = document["extra_data"]["per_function"]
    for function, cell in target.cells.items():
        grade = gradebook.find_grade(cell, target.notebook, target.assignment, student)
        earned = float(per_function[function])
        if earned > grade.max_score + 1e-9:
            raise NbgraderExportError(
                f"{student}: {function} earned {earned:g} points but nbgrader's cell {cell!r} "
                f"is worth {grade.max_score:g}; the points in grader_config.py changed after "
                "the assignment was generated. Regenerate the source notebook and run "
                "`nbgrader generate_assignment --force`, or restore the points.")
        grade.manual_score = earned
        grade.needs_manual_grade = False
        comment = gradebook.find_comment(cell, target.notebook, target.assignment, student)
        comment.manual_comment = _comment(function, document)
    gradebook.db.commit()


def _check_assignment(gradebook, target: _Target) -> None:
    from nbgrader.api import MissingEntry

    assignment = target.assignment
    try:
        notebook = gradebook.find_notebook(target.notebook, assignment)
    except MissingEntry:
        raise NbgraderExportError(
            f"nbgrader's gradebook has no notebook {target.notebook!r} in assignment "
            f"{assignment!r}; run `nbgrader generate_assignment {assignment}` on the kit's "
            "source notebook first.") from None
    present = {cell.name for cell in notebook.grade_cells}
    missing = sorted(set(target.cells.values()) - present)
    if missing:
        raise NbgraderExportError(
            f"assignment {assignment!r} has no graded cell(s) {missing}; it was not generated "
            "from the kit's nbgrader source notebook.")


def feedback_html(markdown_text: str, student: str) -> str:
    """A standalone HTML page of a student's ``feedback.md``.

    Raw HTML in the Markdown is escaped, so nothing a submission printed or named can
    become markup in the page.
    """
    import mistune

    body = mistune.create_markdown(escape=True, plugins=["table"])(markdown_text)
    return FEEDBACK_PAGE.format(title=html.escape(f"Feedback: {student}"), body=body)


FEEDBACK_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.5; color: #1a1a1a; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #bbb; padding: 0.3rem 0.7rem; text-align: left; }}
pre {{ background: #f4f4f4; padding: 0.7rem; overflow-x: auto; white-space: pre-wrap; }}
code {{ background: #f4f4f4; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def _write_feedback(coursedir, out: Path, target: _Target, student: str,
                    summary: ExportSummary) -> None:
    """Write the student's feedback where ``nbgrader release_feedback`` looks for it.

    ``release_feedback`` ships ``feedback/<student>/<assignment>/<notebook>.html`` together
    with the submission's ``timestamp.txt`` and ``submission_secret.txt``, which are copied
    from the autograded (else submitted) folder as ``nbgrader generate_feedback`` does.
    """
    assignment = target.assignment
    dest = Path(coursedir.format_path(coursedir.feedback_directory, student, assignment))
    dest.mkdir(parents=True, exist_ok=True)
    markdown_text = (out / student / reports.FEEDBACK_FILE).read_text(encoding="utf-8")
    page = dest / f"{target.notebook}.html"
    reports.write_atomically(page, feedback_html(markdown_text, student))
    summary.feedback.append(page)
    sources = [Path(coursedir.format_path(directory, student, assignment))
               for directory in (coursedir.autograded_directory, coursedir.submitted_directory)]
    for name in ("timestamp.txt", "submission_secret.txt"):
        found = next((folder / name for folder in sources if (folder / name).is_file()), None)
        if found is not None:
            shutil.copyfile(found, dest / name)
        elif name == "submission_secret.txt":
            summary.warnings.append(
                f"{student}: no submission_secret.txt in the submitted folder (it is written "
                "by `nbgrader submit`), so `nbgrader release_feedback` cannot ship this "
                "student's feedback; hand them the HTML instead.")


def _safe_student(student: str) -> None:
    if student in (".", "..") or "/" in student or "\\" in student or "\x00" in student:
        raise NbgraderExportError(f"{student!r} cannot be an nbgrader student id")


def export(out: Path, course: Path, assignment: str | None = None,
           config_path: str | None = None) -> ExportSummary:
    """Write the kit's grades in ``out`` into the nbgrader course at ``course``.

    For every student graded into ``out`` (by ``autograder grade``), each function's
    points become the score of its graded cell in nbgrader's gradebook (its "manual"
    score, with a comment naming the failed tests; needs-grading is cleared), and the
    feedback becomes ``COURSE/feedback/<student>/<assignment>/<notebook>.html``. The
    nbgrader assignment is ``assignment``, by default the name of the assignment of the
    config at ``config_path`` (the kit's ``grader_config.py`` when None).
    Students are added to the gradebook when missing, as ``nbgrader autograde`` does.
    """
    out, course = Path(out), Path(course)
    target = _target(config_module.load(config_path).assignment, assignment)
    if not (out / reports.GRADEBOOK_FILE).is_file():
        raise NbgraderExportError(f"{out} has no {reports.GRADEBOOK_FILE}; run `autograder "
                                  f"grade {course / 'submitted'} --out {out}` first.")
    coursedir = _course_directory(course)
    database = Path(coursedir.root) / "gradebook.db"
    if coursedir.db_url == f"sqlite:///{database}" and not database.is_file():
        raise NbgraderExportError(f"{course} has no gradebook.db; give the nbgrader course "
                                  "folder (where `nbgrader generate_assignment` ran).")
    from nbgrader.api import Gradebook

    results = _student_results(out)
    if not results:
        raise NbgraderExportError(f"{out} holds no graded student.")
    summary = ExportSummary(assignment=target.assignment)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        _check_assignment(gradebook, target)
        for student, document in results.items():
            _safe_student(student)
            _write_scores(gradebook, target, student, document,
                          _timestamp(coursedir, student, target.assignment))
            _write_feedback(coursedir, out, target, student, summary)
            summary.students.append(student)
        ungraded = sorted({s.id for s in gradebook.students} - set(results))
    if ungraded:
        summary.warnings.append(
            f"{len(ungraded)} student(s) of the gradebook have no results in {out} and were "
            f"left as they are: {', '.join(ungraded[:20])}")
    return summary


def export_command(args) -> int:
    """``autograder nbgrader-export OUT --course COURSE [--assignment NAME]``."""
    try:
        summary = export(Path(args.out), Path(args.course), args.assignment, args.config)
    except NbgraderExportError as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 2
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"exported {len(summary.students)} student(s) into {args.course}'s gradebook; "
          f"feedback for `nbgrader release_feedback {summary.assignment}` written under "
          f"{Path(args.course) / 'feedback'}", file=sys.stderr)
    return 0


def add_export_parser(commands) -> None:
    """Register ``nbgrader-export`` on the ``autograder`` command's sub-parsers."""
    parser = commands.add_parser(
        "nbgrader-export", help="write grades and feedback into an nbgrader course")
    parser.add_argument("out", help="the --out folder of `autograder grade`")
    parser.add_argument("--course", required=True, help="the nbgrader course folder")
    parser.add_argument("--assignment", default=None,
                        help="nbgrader assignment name (default: the name of the assignment "
                             "of --config)")
    parser.set_defaults(run=export_command)

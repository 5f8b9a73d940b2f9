"""nbgrader's folders as the grader finds them: ``<student>/<assignment>/`` submissions and
the course root an instructor may give by mistake.

nbgrader's ``submitted/`` and ``autograded/`` folders hold one folder per student, each
with ``<assignment>/<notebook>.ipynb`` (and nbgrader's ``timestamp.txt``).
:func:`discover` recognises that layout so that :mod:`.submission` keeps nbgrader's
student ids exactly; :func:`course_root_hint` names ``COURSE/submitted`` when the course
folder itself is given. The nbgrader adapter (:mod:`autograder.platforms.nbgrader`)
writes the source notebook and exports into nbgrader's gradebook; finding submissions is
grading's job, so it lives here.
"""

from __future__ import annotations

from pathlib import Path

from autograder.assignment import Assignment

COURSE_MARKERS = ("gradebook.db", "nbgrader_config.py")
_SUFFIXES = (".py", ".ipynb")


def _visible_dirs(folder: Path) -> list[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [p for p in entries if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]


def _holds_submission(folder: Path, assignment: Assignment) -> bool:
    return any((folder / f"{assignment.module}{suffix}").is_file() for suffix in _SUFFIXES)


def _assignment_of(student: Path, assignment: Assignment) -> Path | None:
    """The ``<student>/<assignment>`` folder of nbgrader's layout, if ``student`` has one.

    That is a sub-folder named like the assignment, or the one sub-folder holding nbgrader's
    ``timestamp.txt``; a student folder holding the solution itself is the kit's own layout.
    """
    if _holds_submission(student, assignment):
        return None
    subfolders = _visible_dirs(student)
    named = [sub for sub in subfolders if sub.name == assignment.name]
    stamped = [sub for sub in subfolders if (sub / "timestamp.txt").is_file()]
    if named:
        return named[0]
    return stamped[0] if len(stamped) == 1 else None


def discover(folder: Path, assignment: Assignment) -> list[tuple[str, Path]] | None:
    """``(student id, assignment folder)`` pairs if ``folder`` has nbgrader's layout for
    ``assignment``, else None.

    The folder is taken as nbgrader's when it holds no submission file of its own and at
    least one student folder has such an assignment folder; a student folder without one
    is still listed (it is graded, and its feedback says what is missing). Student ids are
    kept exactly (``jdoe@uni.edu`` stays ``jdoe@uni.edu``), since they are nbgrader's keys.
    The assignment folder is graded as a folder submission, so its notebook is found the
    usual way, together with any module of the student's own next to it.
    """
    if any(path.suffix in _SUFFIXES for path in folder.iterdir() if path.is_file()):
        return None
    found = {student.name: _assignment_of(student, assignment)
             for student in _visible_dirs(folder)}
    if not any(found.values()):
        return None
    return sorted((name, path or folder / name) for name, path in found.items())


def course_root_hint(folder: Path) -> str:
    """A sentence for an nbgrader course folder given where its submissions are expected."""
    if any((folder / marker).exists() for marker in COURSE_MARKERS) or (
        (folder / "submitted").is_dir() and (folder / "source").is_dir()
    ):
        return (f"{folder} looks like an nbgrader course folder; grade its submissions with "
                f"`autograder grade {folder / 'submitted'} --out DIR`.")
    return ""

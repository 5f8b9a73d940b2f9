"""Finds the submissions in a folder and stages each one for its worker.

Each ``.py`` or ``.ipynb`` file, or sub-folder, of a submissions folder is one student,
named by the file stem or folder name. Staging copies what the worker may see into a
fresh folder: the student's code as the assignment's module file (notebooks reduced to
their definitions), the student helpers, and the worker's own files. Problems that make a
submission unusable are found here, in the trusted process, without running it.
"""

from __future__ import annotations

import ast
import io
import os
import re
import shlex
import shutil
import stat
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from autograder.assignment import Assignment
from autograder.grading import nbgrader_layout, notebook
from autograder.paths import SANDBOX_DIR
from autograder.reports.documents import BATCH_FILES
from autograder.sandbox.launch import Stage
from autograder.selfcheck.messages import in_words

MAX_SOURCE_BYTES = 2 * 1024 * 1024
MAX_FOLDER_BYTES = 20 * 1024 * 1024
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_FOLDER_DEPTH = 32  # folders inside folders; deeper ones are refused, never walked
_SUFFIXES = (".py", ".ipynb")
_COOKIE = re.compile(r"^([ \t\f]*#.*?coding[:=][ \t]*)[-\w.]+")


class UnusableSubmission(ValueError):
    """The submission cannot be graded; the message says what is wrong and how to fix it."""


@dataclass
class StagedSubmission:
    """A submission ready for its workers, plus notes for the feedback."""

    name: str
    kind: str
    stage: Stage
    notes: list[str] = field(default_factory=list)


@dataclass
class Survey:
    """Every entry of a submissions folder: graded as a student, or skipped with a reason."""

    submissions: list[tuple[str, Path]]
    skipped: list[tuple[str, str]]


def _skip_reason(path: Path) -> str | None:
    """Why a top-level entry is not a student, or None when it is one."""
    try:
        mode = path.lstat().st_mode
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    if stat.S_ISLNK(mode):
        return "a symbolic link; submit the file or folder itself"
    if path.name.startswith((".", "_")):
        return ("a hidden or private entry (its name starts with '.' or '_'); rename it to "
                "have it graded")
    if stat.S_ISDIR(mode):
        return None
    if not stat.S_ISREG(mode):
        return "not a regular file or folder (a pipe, socket or device)"
    if path.suffix not in _SUFFIXES:
        return "not a .py or .ipynb file"
    return None


def survey(folder: Path, assignment: Assignment) -> Survey:
    """Sort every entry of ``folder`` into submissions of ``assignment`` ``(student, path)``
    and skipped ``(entry, reason)``, both sorted by name.

    Names are file stems or folder names with every character but letters, digits, ``_``
    and ``-`` replaced by ``_``: a student name never holds a dot, so it never collides
    with a file the batch writes beside the students' folders (``gradebook.csv``...).
    When two entries give the same name, the suffix and then a number are added, so that
    no student's results overwrite another's. nbgrader's ``<student>/<assignment>/``
    layout is recognised (:mod:`.nbgrader_layout`) and keeps nbgrader's student ids exactly.
    """
    nbgrader = nbgrader_layout.discover(folder, assignment)
    if nbgrader is not None:
        return _nbgrader_survey(folder, nbgrader)
    entries, skipped = [], []
    for path in sorted(folder.iterdir()):
        reason = _skip_reason(path)
        if reason is None:
            entries.append(path)
        else:
            skipped.append((path.name, reason))
    stems = [p.stem if p.suffix in _SUFFIXES and not p.is_dir() else p.name for p in entries]
    named: list[tuple[str, Path]] = []
    used: set[str] = set()
    for path, stem in zip(entries, stems, strict=True):
        kind = "folder" if path.is_dir() else path.suffix.lstrip(".")
        name = student_name(stem if stems.count(stem) == 1 else f"{stem}_{kind}")
        unique, number = name, 2
        while unique in used:
            unique, number = f"{name}_{number}", number + 1
        used.add(unique)
        named.append((unique, path))
    return Survey(sorted(named), skipped)


def student_name(stem: str) -> str:
    """The student's name made from a file or folder name: every character but letters,
    digits, ``_`` and ``-`` becomes ``_`` (a safe folder name for the reports; the LMS export
    matches roster logins to it the same way)."""
    return re.sub(r"[^\w-]", "_", stem)


def _nbgrader_survey(folder: Path, layout: list[tuple[str, Path]]) -> Survey:
    """nbgrader's students under their exact ids; an id that is the name of a file the
    batch writes beside the students' folders, and every other entry, skipped with the
    reason."""
    submissions, skipped = [], []
    for student, path in layout:
        if student in BATCH_FILES:
            skipped.append((student, "its name is that of a file the grader writes into the "
                                      "output folder; rename the student folder"))
        else:
            submissions.append((student, path))
    listed = {student for student, _ in layout}
    skipped += [(path.name, "not a student folder of nbgrader's <student>/<assignment>/ layout")
                for path in sorted(folder.iterdir()) if path.name not in listed]
    return Survey(submissions, sorted(skipped))


def discover(folder: Path, assignment: Assignment) -> list[tuple[str, Path]]:
    """List ``(student, path)`` for every submission of ``assignment`` in ``folder``, sorted
    by name."""
    return survey(folder, assignment).submissions


def _decode_python(raw: bytes, label: str, assignment: Assignment) -> str:
    if not raw.strip():
        raise UnusableSubmission(
            f"{label} is empty. Submit your {assignment.module_file} with the "
            f"{in_words(len(assignment.functions))} functions filled in.")
    if b"\x00" in raw:
        raise UnusableSubmission(f"{label} is not a text file (it contains binary data). "
                                 "Submit the .py file itself, not a compressed or compiled file.")
    if len(raw) > MAX_SOURCE_BYTES:
        raise UnusableSubmission(f"{label} is larger than {MAX_SOURCE_BYTES // 1024} KB; "
                                 "submit only your code.")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError:  # an unknown encoding in the coding cookie
        encoding = "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise UnusableSubmission(
            f"{label} is not saved as UTF-8 text (byte {error.start} cannot be read). In your "
            "editor choose 'Save with encoding: UTF-8' and submit again.") from None
    head = text.split("\n", 2)
    for number in range(min(2, len(head))):  # the staged copy is UTF-8; keep line numbers
        head[number] = _COOKIE.sub(r"\g<1>utf-8", head[number], count=1)
    return "\n".join(head)


def _run_hint(label: str) -> str:
    """How the student sees the error themselves, naming their own file."""
    name = label.rsplit("/", 1)[-1]
    if name.endswith(".ipynb"):
        return f"Run every cell of {name} from the top to see the error."
    return f"Run it once yourself (python {shlex.quote(name)}) to see the error."


def _check_syntax(source: str, label: str) -> None:
    try:
        ast.parse(source)
    except SyntaxError as error:
        line = (error.text or "").strip()
        raise UnusableSubmission(
            f"{label} has a syntax error on line {error.lineno}: {error.msg}"
            + (f"\n    {line}" if line else "")
            + "\nPython cannot read the file, so none of its functions can be graded. "
            + _run_hint(label)) from None
    except (ValueError, MemoryError, RecursionError) as error:
        raise UnusableSubmission(f"{label} cannot be read by Python ({error}).") from None


def _read_limited(path: Path, label: str) -> bytes:
    """The file's bytes, refused before reading when it is not a regular file or too big."""
    notebook_file = path.suffix == ".ipynb"
    limit = MAX_NOTEBOOK_BYTES if notebook_file else MAX_SOURCE_BYTES
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode):
        raise UnusableSubmission(f"{label} is not a regular file (a link, pipe or device); "
                                 "submit the file itself.")
    if info.st_size > limit:
        advice = ("clear its outputs (Kernel > Restart & Clear Output), save it and submit "
                  "again" if notebook_file else "submit only your code")
        raise UnusableSubmission(f"{label} is larger than {limit // 1024} KB; {advice}.")
    with open(path, "rb") as stream:
        raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise UnusableSubmission(f"{label} is larger than {limit // 1024} KB.")
    return raw


def _module_source(path: Path, label: str, assignment: Assignment) -> tuple[str, list[str]]:
    raw = _read_limited(path, label)
    if path.suffix == ".ipynb":
        if not raw.strip():
            raise UnusableSubmission(f"{label} is empty. Save your notebook and submit again.")
        try:
            extracted = notebook.extract(raw, notebook.released_cells(assignment.notebook)
                                         | notebook.nbgrader_cells(assignment))
        except notebook.NotebookError as error:
            raise UnusableSubmission(f"{label}: {error}.") from None
        source, notes = extracted.source, extracted.skipped
    else:
        source, notes = _decode_python(raw, label, assignment), []
    _check_syntax(source, label)
    return source, notes


def _find_module(folder: Path, shown: str, assignment: Assignment) -> Path:
    py, ipynb = assignment.submission_names
    candidates = [folder / py, folder / ipynb]
    present = [c for c in candidates if c.is_file() and not c.is_symlink()]
    if len(present) == 2:
        raise UnusableSubmission(
            f"folder {shown} holds both {py} and {ipynb}; "
            "keep only the one you want graded.")
    if not present:
        raise UnusableSubmission(
            f"folder {shown} has no {py} or {ipynb}. Put your "
            "solution in a file with that name.")
    return present[0]


def folder_entries(folder: Path) -> list[Path]:
    """Every entry under ``folder`` except its folders (files, links, pipes...), sorted.

    Found without recursion, so depth cannot exhaust Python's stack; symbolic links are
    listed, never followed. A folder deeper than :data:`MAX_FOLDER_DEPTH` is listed itself
    instead of walked (staging refuses the submission when it sees one).
    """
    found, pending = [], [(folder, 0)]
    while pending:
        directory, depth = pending.pop()
        with os.scandir(directory) as scan:
            for entry in scan:
                path = Path(entry.path)
                if entry.is_dir(follow_symlinks=False) and depth < MAX_FOLDER_DEPTH:
                    pending.append((path, depth + 1))
                else:
                    found.append(path)
    return sorted(found)


def _copy_folder(source: Path, target: Path, notes: list[str]) -> None:
    total = 0
    for path in folder_entries(source):
        relative = path.relative_to(source)
        if path.is_symlink():
            notes.append(f"{relative}: a symbolic link - not copied")
            continue
        if path.is_dir():
            raise UnusableSubmission(f"folder {source.name} has folders nested more than "
                                     f"{MAX_FOLDER_DEPTH} deep; submit only your code.")
        if "__pycache__" in relative.parts:
            continue
        if not path.is_file():
            notes.append(f"{relative}: not a regular file (a pipe, socket or device) - "
                         "not copied")
            continue
        total += path.stat().st_size
        if total > MAX_FOLDER_BYTES:
            raise UnusableSubmission(f"folder {source.name} is larger than "
                                     f"{MAX_FOLDER_BYTES // 2**20} MB; submit only your code.")
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / relative)


def _make_stage(workdir: Path, helpers: tuple[Path, ...]) -> Stage:
    stage = Stage(runtime=workdir / "runtime", substitute_runtime=workdir / "runtime_sub",
                  lib=workdir / "lib", submission=workdir / "submission",
                  scratch=workdir / "scratch")
    for folder in (stage.runtime, stage.substitute_runtime, stage.lib, stage.submission,
                   stage.scratch):
        folder.mkdir(parents=True)
    for runtime, files in ((stage.runtime, ("worker.py", "protocol.py")),
                           (stage.substitute_runtime,
                            ("worker.py", "protocol.py", "substitution.py"))):
        for name in files:  # the known-good source travels by pipe only
            shutil.copyfile(SANDBOX_DIR / name, runtime / name)
    for helper in helpers:
        shutil.copyfile(helper, stage.lib / helper.name)
    return stage


def _open_permissions(workdir: Path) -> None:
    """Let the worker's unprivileged uid read what is staged (and write its scratch)."""
    for path in [workdir, *workdir.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    (workdir / "scratch").chmod(0o777)


def stage(name: str, path: Path, workdir: Path, assignment: Assignment) -> StagedSubmission:
    """Stage the submission at ``path`` in the empty folder ``workdir`` for ``assignment``."""
    staged_stage = _make_stage(workdir, assignment.helpers)
    notes: list[str] = []
    if path.is_dir():
        kind = "folder"
        _copy_folder(path, staged_stage.submission, notes)
        module_path = _find_module(staged_stage.submission, path.name, assignment)
        label = f"{path.name}/{module_path.name}"
    else:
        kind = path.suffix.lstrip(".")
        module_path = path
        label = path.name
    source, skipped = _module_source(module_path, label, assignment)
    notes += skipped
    if kind == "folder" and module_path.suffix == ".ipynb":
        module_path.unlink()
    (staged_stage.submission / assignment.module_file).write_text(source, encoding="utf-8")
    _open_permissions(workdir)
    return StagedSubmission(name=name, kind=kind, stage=staged_stage, notes=notes)

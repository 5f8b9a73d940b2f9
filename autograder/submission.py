"""Finds the submissions in a folder and stages each one for its worker.

Each ``.py`` or ``.ipynb`` file, or sub-folder, of a submissions folder is one student,
named by the file stem or folder name. Staging copies what the worker may see into a
fresh folder: the student's code as ``regularization.py`` (notebooks reduced to their
definitions), the student helpers, and the worker's own files. Problems that make a
submission unusable are found here, in the trusted process, without running it.
"""

from __future__ import annotations

import ast
import io
import re
import shlex
import shutil
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from autograder import notebook
from autograder.paths import HELPERS_FILE, PACKAGE_DIR
from autograder.sandbox import Stage

MODULE_FILE = "regularization.py"
MAX_SOURCE_BYTES = 2 * 1024 * 1024
MAX_FOLDER_BYTES = 20 * 1024 * 1024
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


def discover(folder: Path) -> list[tuple[str, Path]]:
    """List ``(student, path)`` for every submission in ``folder``, sorted by name.

    Names are file stems or folder names; when two files share a stem, the suffix is
    added so that no student's results overwrite another's.
    """
    entries = [p for p in sorted(folder.iterdir())
               if not p.name.startswith((".", "_")) and not p.is_symlink()
               and (p.is_dir() or p.suffix in _SUFFIXES)]
    stems = [p.stem if p.is_file() else p.name for p in entries]
    named: list[tuple[str, Path]] = []
    used: set[str] = set()
    for path, stem in zip(entries, stems, strict=True):
        kind = path.suffix.lstrip(".") if path.is_file() else "folder"
        name = re.sub(r"[^\w.-]", "_", stem if stems.count(stem) == 1 else f"{stem}_{kind}")
        unique, number = name, 2
        while unique in used:
            unique, number = f"{name}_{number}", number + 1
        used.add(unique)
        named.append((unique, path))
    return sorted(named)


def _decode_python(raw: bytes, label: str) -> str:
    if not raw.strip():
        raise UnusableSubmission(f"{label} is empty. Submit your regularization.py with the "
                                 "three functions filled in.")
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


def _module_source(path: Path, label: str) -> tuple[str, list[str]]:
    raw = path.read_bytes()
    if path.suffix == ".ipynb":
        if not raw.strip():
            raise UnusableSubmission(f"{label} is empty. Save your notebook and submit again.")
        try:
            extracted = notebook.extract(raw)
        except notebook.NotebookError as error:
            raise UnusableSubmission(f"{label}: {error}.") from None
        source, notes = extracted.source, extracted.skipped
    else:
        source, notes = _decode_python(raw, label), []
    _check_syntax(source, label)
    return source, notes


def _find_module(folder: Path, shown: str) -> Path:
    candidates = [folder / f"regularization{suffix}" for suffix in _SUFFIXES]
    present = [c for c in candidates if c.is_file() and not c.is_symlink()]
    if len(present) == 2:
        raise UnusableSubmission(
            f"folder {shown} holds both regularization.py and regularization.ipynb; "
            "keep only the one you want graded.")
    if not present:
        raise UnusableSubmission(
            f"folder {shown} has no regularization.py or regularization.ipynb. Put your "
            "solution in a file with that name.")
    return present[0]


def _copy_folder(source: Path, target: Path, notes: list[str]) -> None:
    total = 0
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_symlink():
            notes.append(f"{relative}: a symbolic link - not copied")
            continue
        if "__pycache__" in relative.parts or not path.is_file():
            continue
        total += path.stat().st_size
        if total > MAX_FOLDER_BYTES:
            raise UnusableSubmission(f"folder {source.name} is larger than "
                                     f"{MAX_FOLDER_BYTES // 2**20} MB; submit only your code.")
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / relative)


def _make_stage(workdir: Path) -> Stage:
    stage = Stage(runtime=workdir / "runtime", substitute_runtime=workdir / "runtime_sub",
                  lib=workdir / "lib", submission=workdir / "submission",
                  scratch=workdir / "scratch")
    for folder in (stage.runtime, stage.substitute_runtime, stage.lib, stage.submission,
                   stage.scratch):
        folder.mkdir(parents=True)
    for runtime, files in ((stage.runtime, ("worker.py", "protocol.py")),
                           (stage.substitute_runtime,
                            ("worker.py", "protocol.py", "known_good.py"))):
        for name in files:
            shutil.copyfile(PACKAGE_DIR / name, runtime / name)
    shutil.copyfile(HELPERS_FILE, stage.lib / HELPERS_FILE.name)
    return stage


def _open_permissions(workdir: Path) -> None:
    """Let the worker's unprivileged uid read what is staged (and write its scratch)."""
    for path in [workdir, *workdir.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    (workdir / "scratch").chmod(0o777)


def stage(name: str, path: Path, workdir: Path) -> StagedSubmission:
    """Stage the submission at ``path`` in the empty folder ``workdir``."""
    staged_stage = _make_stage(workdir)
    notes: list[str] = []
    if path.is_dir():
        kind = "folder"
        _copy_folder(path, staged_stage.submission, notes)
        module_path = _find_module(staged_stage.submission, path.name)
        label = f"{path.name}/{module_path.name}"
    else:
        kind = path.suffix.lstrip(".")
        module_path = path
        label = path.name
    source, skipped = _module_source(module_path, label)
    notes += skipped
    if kind == "folder" and module_path.suffix == ".ipynb":
        module_path.unlink()
    (staged_stage.submission / MODULE_FILE).write_text(source, encoding="utf-8")
    _open_permissions(workdir)
    return StagedSubmission(name=name, kind=kind, stage=staged_stage, notes=notes)

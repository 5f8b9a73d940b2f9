"""``autograder release DIR``: what the kit hands out.

:func:`build_release` writes every output of a release into ``DIR``. Today that is the
student bundle: ``DIR/student/`` and the same files in ``DIR/student.zip`` (the stub, the
notebook, ``nn_helpers.py``, ``SPEC.md``, a README and the standalone self-check
``check.py`` with its ``selfcheck`` package and ``expectations.npz``), and, for courses
that run nbgrader, the source assignment ``DIR/nbgrader/source/regularization/``. Each
output is a function in :data:`OUTPUTS`.

The bundle passes the leak check (:mod:`autograder.release.leakcheck`) before anything is
written; a bundle that fails it is never written.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from assignments.regularization.assignment import HERE as ASSIGNMENT_DIR
from assignments.regularization.assignment import NN_HELPERS as HELPERS_FILE
from assignments.regularization.assignment import NOTEBOOK as NOTEBOOK_FILE
from assignments.regularization.assignment import PUBLIC_SUITE
from assignments.regularization.assignment import REFERENCE as REFERENCE_FILE
from assignments.regularization.assignment import STUB as STUB_FILE
from assignments.regularization.grader import expectations
from autograder import stubgen
from autograder.paths import PACKAGE_DIR
from autograder.release import leakcheck
from autograder.selfcheck import datafile
from autograder.selfcheck.notebook_source import code_cells, fingerprint

SPEC_FILE = ASSIGNMENT_DIR / "SPEC.md"
FILES_DIR = Path(__file__).resolve().parent / "files"
SELFCHECK_DIR = PACKAGE_DIR / "selfcheck"
STUDENT_DIR = "student"
ZIP_FILE = "student.zip"
ZIP_ROOT = "regularization"      # the folder a student gets when unzipping
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)


class ReleaseRefused(RuntimeError):
    """The bundle failed its leak check; nothing was written."""

    def __init__(self, leaks: list[str]) -> None:
        self.leaks = leaks
        shown = "\n  ".join(leaks[:40])
        more = f"\n  ... and {len(leaks) - 40} more" if len(leaks) > 40 else ""
        super().__init__(f"the student bundle would leak the solution; nothing was written:\n"
                         f"  {shown}{more}")


@dataclass
class Release:
    """What a release wrote."""

    folder: Path
    written: list[Path] = field(default_factory=list)


def _expectations() -> bytes:
    """The public checks' expectations, plus what ``check.py`` needs to know of the release:
    the released files' SHA-256 and the fingerprints of the notebook's code cells."""
    notebook = json.loads(NOTEBOOK_FILE.read_text(encoding="utf-8"))
    release = {
        "files": {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
                  for path in (STUB_FILE, NOTEBOOK_FILE)},
        "released_cells": sorted({fingerprint(cell.source) for cell in code_cells(notebook)}),
    }
    return datafile.dumps({**expectations.build(), "release": release})


def student_files() -> dict[str, bytes]:
    """Every file of the student bundle, keyed by its path inside the bundle."""
    files = {
        "regularization.py": STUB_FILE.read_bytes(),
        "regularization.ipynb": NOTEBOOK_FILE.read_bytes(),
        "nn_helpers.py": HELPERS_FILE.read_bytes(),
        "SPEC.md": SPEC_FILE.read_bytes(),
        "README.md": (FILES_DIR / "README.md").read_bytes(),
        "check.py": (FILES_DIR / "check.py").read_bytes(),
        "expectations.npz": _expectations(),
    }
    for path in sorted(SELFCHECK_DIR.glob("*.py")):
        files[f"selfcheck/{path.name}"] = path.read_bytes()
    return files


def check_for_leaks(files: dict[str, bytes]) -> list[str]:
    """The leak check of a student bundle (see :mod:`autograder.release.leakcheck`).

    What counts as public comes from the kit's own files, never from the bundle checked.
    """
    contract = [path.read_text(encoding="utf-8") for path in (SPEC_FILE, HELPERS_FILE)]
    public_checks = [path.read_text(encoding="utf-8")
                     for path in (*sorted(SELFCHECK_DIR.glob("*.py")),
                                  *sorted(PUBLIC_SUITE.glob("*.py")))]
    public_checks.append(leakcheck.file_text(NOTEBOOK_FILE.name, NOTEBOOK_FILE.read_bytes()))
    stub = stubgen.make_stub(REFERENCE_FILE.read_text(encoding="utf-8"))
    stub_functions = frozenset(leakcheck.normalize(text) for text in stub.functions.values())
    return leakcheck.scan(files, leakcheck.kit_secrets(contract, public_checks),
                          "regularization.py", stub_functions)


def read_bundle(path: Path) -> dict[str, bytes]:
    """The files of a student bundle, from its folder or its zip, keyed by bundle path."""
    if path.is_dir():
        return leakcheck.read_folder(path)
    with zipfile.ZipFile(path) as archive:
        names = [name for name in archive.namelist() if not name.endswith("/")]
        prefix = f"{ZIP_ROOT}/"
        return {name.removeprefix(prefix): archive.read(name) for name in names}


def _write_zip(path: Path, files: dict[str, bytes]) -> None:
    """A zip of ``files`` under ``ZIP_ROOT/``; byte-identical for the same files."""
    temporary = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{ZIP_ROOT}/{name}", date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    temporary.replace(path)


def write_student_bundle(dest: Path, files: dict[str, bytes] | None = None) -> list[Path]:
    """Write ``dest/student/`` and ``dest/student.zip`` after the leak check passes."""
    files = student_files() if files is None else files
    leaks = check_for_leaks(files)
    if leaks:
        raise ReleaseRefused(leaks)
    folder = dest / STUDENT_DIR
    if folder.exists():
        shutil.rmtree(folder)
    for name, raw in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(raw)
    _write_zip(dest / ZIP_FILE, files)
    return [folder, dest / ZIP_FILE]


def write_nbgrader_source(dest: Path) -> list[Path]:
    """Write ``dest/nbgrader/source/regularization/`` for a course that runs nbgrader.

    It holds the solution between nbgrader's markers, so it is for instructors only and
    stays outside ``student/`` and ``student.zip``.
    """
    from autograder.platforms import nbgrader

    return [nbgrader.write_source(dest).parent]


# The outputs of a release, written in this order; each takes DIR and returns what it wrote.
OUTPUTS: list[Callable[[Path], list[Path]]] = [write_student_bundle, write_nbgrader_source]


def build_release(dest: Path) -> Release:
    """Write every output of a release into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    release = Release(dest)
    for output in OUTPUTS:
        release.written += output(dest)
    return release

"""``autograder release DIR``: what the kit hands out.

:func:`build_release` writes every output of a release into ``DIR``. Today that is the
student bundle: ``DIR/student/`` and the same files in ``DIR/student.zip`` (the stub, the
notebook, the helper files, and the assignment's ``RELEASE_FILES`` such as its
specification, a README and the standalone self-check ``check.py``, with the ``selfcheck``
package and ``expectations.npz``), and, for courses that run nbgrader, the source
assignment ``DIR/nbgrader/source/<assignment>/``. Each output is a function in
:data:`OUTPUTS`. The assignment is the one the kit's ``grader_config.py`` names; what the
bundle holds of it, its declaration says (:mod:`autograder.assignment`).

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

from autograder import config as config_module
from autograder import stubgen
from autograder.assignment import Assignment
from autograder.paths import PACKAGE_DIR
from autograder.release import leakcheck
from autograder.selfcheck import datafile
from autograder.selfcheck.notebook_source import code_cells, fingerprint

SELFCHECK_DIR = PACKAGE_DIR / "selfcheck"
STUDENT_DIR = "student"
ZIP_FILE = "student.zip"
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


def zip_root() -> str:
    """The folder a student gets when unzipping: the assignment's module name."""
    return config_module.kit_assignment().module


def _released(assignment: Assignment) -> tuple[Path, Path]:
    """The assignment's stub and notebook; a clear error when it declares no such files."""
    stub, notebook = assignment.optional_path("STUB"), assignment.notebook
    if stub is None or notebook is None:
        raise ValueError(f"the assignment {assignment.name} declares no STUB or NOTEBOOK in "
                         f"{assignment.folder}/assignment.py, so it has no student release.")
    return stub, notebook


def _expectations(assignment: Assignment) -> bytes:
    """The public checks' expectations, plus what ``check.py`` needs to know of the release:
    the released files' SHA-256 and the fingerprints of the notebook's code cells."""
    stub, notebook_file = _released(assignment)
    notebook = json.loads(notebook_file.read_text(encoding="utf-8"))
    release = {
        "files": {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
                  for path in (stub, notebook_file)},
        "released_cells": sorted({fingerprint(cell.source) for cell in code_cells(notebook)}),
    }
    build = assignment.hook("build_expectations")
    return datafile.dumps({**(build() if build else {}), "release": release})


def selfcheck_sources() -> list[Path]:
    """The modules of the bundle's ``selfcheck`` package, by name: the engine's generic ones
    (but its ``__init__``, which joins the assignments' modules to it in the kit) and the
    assignment's own (``assignments/<name>/selfcheck/``, with the bundle package's
    ``__init__``)."""
    engine = [path for path in SELFCHECK_DIR.glob("*.py") if path.name != "__init__.py"]
    own = (config_module.kit_assignment().folder / "selfcheck").glob("*.py")
    return sorted([*engine, *own], key=lambda path: path.name)


def student_files() -> dict[str, bytes]:
    """Every file of the student bundle, keyed by its path inside the bundle."""
    assignment = config_module.kit_assignment()
    files = {path.name: path.read_bytes()
             for path in (*_released(assignment), *assignment.helpers,
                          *assignment.release_files)}
    files["expectations.npz"] = _expectations(assignment)
    for path in selfcheck_sources():
        files[f"selfcheck/{path.name}"] = path.read_bytes()
    return files


def check_for_leaks(files: dict[str, bytes]) -> list[str]:
    """The leak check of a student bundle (see :mod:`autograder.release.leakcheck`).

    What counts as public comes from the kit's own files, never from the bundle checked.
    """
    assignment = config_module.kit_assignment()
    _, notebook = _released(assignment)
    spec = assignment.optional_path("SPEC")
    contract = [path.read_text(encoding="utf-8")
                for path in (*([spec] if spec else []), *assignment.helpers)]
    public_checks = [path.read_text(encoding="utf-8")
                     for path in (*selfcheck_sources(),
                                  *sorted(assignment.public_suite.glob("*.py")))]
    public_checks.append(leakcheck.file_text(notebook.name, notebook.read_bytes()))
    stub = stubgen.make_stub(assignment.reference.read_text(encoding="utf-8"))
    stub_functions = frozenset(leakcheck.normalize(text) for text in stub.functions.values())
    return leakcheck.scan(files, leakcheck.kit_secrets(contract, public_checks),
                          assignment.module_file, stub_functions)


def read_bundle(path: Path) -> dict[str, bytes]:
    """The files of a student bundle, from its folder or its zip, keyed by bundle path."""
    if path.is_dir():
        return leakcheck.read_folder(path)
    with zipfile.ZipFile(path) as archive:
        names = [name for name in archive.namelist() if not name.endswith("/")]
        prefix = f"{zip_root()}/"
        return {name.removeprefix(prefix): archive.read(name) for name in names}


def _write_zip(path: Path, files: dict[str, bytes]) -> None:
    """A zip of ``files`` under :func:`zip_root`; byte-identical for the same files."""
    temporary, root = path.with_name(f".{path.name}.tmp"), zip_root()
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{root}/{name}", date_time=_ZIP_TIME)
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
    """Write ``dest/nbgrader/source/<assignment>/`` for a course that runs nbgrader.

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

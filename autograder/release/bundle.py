"""``autograder release DIR``: what the kit hands out.

:func:`build_release` writes every output of a release into ``DIR``. Today that is the
student bundle: ``DIR/student/`` and the same files in ``DIR/student.zip`` (the stub, the
notebook, the helper files, and the assignment's ``RELEASE_FILES`` such as its
specification, a README and the standalone self-check ``check.py``, with the ``selfcheck``
package and ``expectations.npz``), and, for courses that run nbgrader, the source
assignment ``DIR/nbgrader/source/<assignment>/``. Each output is a function in
:data:`OUTPUTS`. The assignment is the one the config in use names (``autograder --config
FILE release DIR``; by default the kit's own ``grader_config.py``); what the bundle holds
of it, its declaration says (:mod:`autograder.assignment`). Every function here takes that
config (``None``: the kit's own).

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
from autograder import selfcheck, stubgen
from autograder.assignment import Assignment
from autograder.config import Config
from autograder.release import leakcheck
from autograder.selfcheck import datafile
from autograder.selfcheck.notebook_source import code_cells, fingerprint

STUDENT_DIR = "student"
ZIP_FILE = "student.zip"
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)


class NoRelease(ValueError):
    """The assignment declares no student release; the message says what it lacks."""


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


def _config(config: Config | None) -> Config:
    return config_module.load() if config is None else config


def zip_root(config: Config | None = None) -> str:
    """The folder a student gets when unzipping: the assignment's module name."""
    return _config(config).assignment.module


def _released(assignment: Assignment) -> tuple[Path, Path]:
    """The assignment's stub and notebook; :class:`NoRelease` when it declares no release
    (no stub, notebook or release files, or no self-check package)."""
    stub, notebook = assignment.optional_path("STUB"), assignment.notebook
    if stub is None or notebook is None or not assignment.release_files:
        raise NoRelease(f"the assignment {assignment.name} declares no STUB, NOTEBOOK or "
                        f"RELEASE_FILES in {assignment.folder}/assignment.py, so it has no "
                        "student release.")
    if not (assignment.self_check_folder / "public_checks.py").is_file():
        raise NoRelease(f"the assignment {assignment.name} has no public checks "
                        f"({assignment.self_check_folder}/public_checks.py), so its bundle "
                        "could not check anything.")
    try:
        stubgen.Lesson.of(assignment)
    except stubgen.StubError as error:
        raise NoRelease(str(error)) from None
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


def selfcheck_sources(config: Config | None = None) -> list[Path]:
    """The modules of the bundle's ``selfcheck`` package, by name: the engine's generic ones
    and the assignment's own (``assignments/<name>/selfcheck/``, with the bundle package's
    ``__init__``), the same package as in the kit (:func:`autograder.selfcheck.package_for`)."""
    engine = [selfcheck.ENGINE_DIR / f"{name}.py" for name in selfcheck.generic_modules()]
    own = _config(config).assignment.self_check_folder.glob("*.py")
    return sorted([*engine, *own], key=lambda path: path.name)


def student_files(config: Config | None = None) -> dict[str, bytes]:
    """Every file of the student bundle, keyed by its path inside the bundle."""
    assignment = _config(config).assignment
    files = {path.name: path.read_bytes()
             for path in (*_released(assignment), *assignment.helpers,
                          *assignment.release_files)}
    files["expectations.npz"] = _expectations(assignment)
    for path in selfcheck_sources(config):
        files[f"selfcheck/{path.name}"] = path.read_bytes()
    return files


def check_for_leaks(files: dict[str, bytes], config: Config | None = None) -> list[str]:
    """The leak check of a student bundle (see :mod:`autograder.release.leakcheck`).

    What counts as public comes from the kit's own files, never from the bundle checked.
    """
    config = _config(config)
    assignment = config.assignment
    _, notebook = _released(assignment)
    spec = assignment.optional_path("SPEC")
    contract = [path.read_text(encoding="utf-8")
                for path in (*([spec] if spec else []), *assignment.helpers)]
    public_checks = [path.read_text(encoding="utf-8")
                     for path in (*selfcheck_sources(config),
                                  *sorted(assignment.public_suite.glob("*.py")))]
    public_checks.append(leakcheck.file_text(notebook.name, notebook.read_bytes()))
    stub = stubgen.Lesson.of(assignment).make_stub()
    stub_functions = frozenset(leakcheck.normalize(text) for text in stub.functions.values())
    return leakcheck.scan(files, leakcheck.kit_secrets(contract, public_checks, config),
                          assignment.module_file, stub_functions, assignment)


def read_bundle(path: Path, config: Config | None = None) -> dict[str, bytes]:
    """The files of a student bundle, from its folder or its zip, keyed by bundle path."""
    if path.is_dir():
        return leakcheck.read_folder(path)
    with zipfile.ZipFile(path) as archive:
        names = [name for name in archive.namelist() if not name.endswith("/")]
        prefix = f"{zip_root(config)}/"
        return {name.removeprefix(prefix): archive.read(name) for name in names}


def _write_zip(path: Path, files: dict[str, bytes], root: str) -> None:
    """A zip of ``files`` under the folder ``root``; byte-identical for the same files."""
    temporary = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{root}/{name}", date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    temporary.replace(path)


def write_student_bundle(dest: Path, files: dict[str, bytes] | None = None,
                         config: Config | None = None) -> list[Path]:
    """Write ``dest/student/`` and ``dest/student.zip`` after the leak check passes."""
    files = student_files(config) if files is None else files
    leaks = check_for_leaks(files, config)
    if leaks:
        raise ReleaseRefused(leaks)
    folder = dest / STUDENT_DIR
    if folder.exists():
        shutil.rmtree(folder)
    for name, raw in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(raw)
    _write_zip(dest / ZIP_FILE, files, zip_root(config))
    return [folder, dest / ZIP_FILE]


def write_nbgrader_source(dest: Path, config: Config | None = None) -> list[Path]:
    """Write ``dest/nbgrader/source/<assignment>/`` for a course that runs nbgrader.

    It holds the solution between nbgrader's markers, so it is for instructors only and
    stays outside ``student/`` and ``student.zip``.
    """
    from autograder.platforms import nbgrader

    return [nbgrader.write_source(dest, config=_config(config)).parent]


def _student_bundle(dest: Path, config: Config) -> list[Path]:
    return write_student_bundle(dest, config=config)


# The outputs of a release, written in this order; each takes DIR and the config and
# returns what it wrote.
OUTPUTS: list[Callable[[Path, Config], list[Path]]] = [_student_bundle, write_nbgrader_source]


def build_release(dest: Path, config: Config | None = None) -> Release:
    """Write every output of a release of ``config``'s assignment into ``dest``."""
    config = _config(config)
    _released(config.assignment)  # an assignment without a student release writes nothing
    dest.mkdir(parents=True, exist_ok=True)
    release = Release(dest)
    for output in OUTPUTS:
        release.written += output(dest, config)
    return release

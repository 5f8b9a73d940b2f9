"""An assignment as the engine sees it, read from its own folder's declaration.

The engine grades whatever an assignment declares and knows nothing else about it.
``grader_config.py`` names its assignment (``ASSIGNMENT = "NAME"``), and
``assignments/NAME/assignment.py`` declares it with these module-level names:

- ``MODULE``: the module name a submission is staged and imported as (``MODULE.py``);
- ``FUNCTIONS``: the functions a submission must define, in gradebook order (the keys of
  ``grader_config.POINTS``); their signatures are read from ``REFERENCE``;
- ``REFERENCE``: the reference solution (trusted side only, never in a sandbox);
- ``HELPERS``: files the students get that the sandbox shows beside the submission;
- ``HIDDEN_SUITE``, ``PUBLIC_SUITE``: the pytest suites (the hidden one gives the points);
- ``NOTEBOOK`` (optional): the released notebook (its cells are not reported as the
  student's when a notebook submission is graded);
- ``SUBSTITUTES``, ``SUBSTITUTED`` (optional): a known-good source file and the functions
  of it that replace the submission's own in the second worker (``student.substituted``),
  so that a mistake in them costs points only where it is;
- ``load_data(config)``, ``save_data(data, path)``, ``load_saved_data(path)`` (optional):
  the data set the suites get as their ``data`` fixture. A batch loads it once, saves it,
  and hands each grading process the file;
- ``check_config(values)`` (optional): checks the assignment's own settings; returns None
  or ``(setting, problem)``;
- ``CURVES`` (optional): :class:`Curves`, training curves the suites record and the HTML
  feedback plots;
- ``UPLOAD_STEM`` (optional): a pattern of file names that mark a Gradescope upload as the
  solution (default: the module name);
- ``MISTAKES`` and ``ENGINE_MUST_NOT_NAME`` (optional): the mistake catalogue's file and
  words only this assignment uses; the kit's tests search the engine for both;
- ``STUB``, ``SPEC``, ``RELEASE_FILES``, ``build_expectations()`` (optional; needed by
  ``autograder release``): the stub students fill in, the specification (public text the
  leak check accepts), the files the student bundle ships as they are (its README and
  ``check.py``) and the public checks' expected values, stored as ``expectations.npz``.

Beside the declaration, the folder ``selfcheck/`` (optional) holds the assignment's own
self-check modules (``public_checks.py`` and what it imports); with the engine's generic
ones they make the assignment's self-check package (:meth:`Assignment.self_check`), which
ships in the student bundle (see :mod:`autograder.selfcheck`).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from autograder import selfcheck
from autograder.paths import PROJECT_DIR

ASSIGNMENTS_DIR = PROJECT_DIR / "assignments"
_REQUIRED = ("MODULE", "FUNCTIONS", "REFERENCE", "HELPERS", "HIDDEN_SUITE", "PUBLIC_SUITE")


class AssignmentError(ValueError):
    """The named assignment has no usable declaration; the message says what to fix."""


class DataProblem(RuntimeError):
    """The assignment's data set cannot be loaded; the message says why and what to do."""


@dataclass(frozen=True)
class Curves:
    """Per-epoch values a suite records (its ``record_curve`` fixture) for the HTML feedback.

    ``key`` names them in results.json; ``heading`` and ``intro`` (HTML) open the
    feedback's section; ``plot_title``, ``series`` and ``alt`` label the plot; ``band`` is
    a JSON file of the per-epoch range (``{label: {"low": [...], "high": [...]}}``)
    correct solutions stay in.
    """

    key: str
    heading: str
    intro: str
    plot_title: str
    series: str
    alt: str
    band: Path | None = None


@dataclass(frozen=True)
class Assignment:
    """One assignment's declaration, checked."""

    name: str
    folder: Path
    module: str
    functions: tuple[str, ...]
    reference: Path
    helpers: tuple[Path, ...]
    hidden_suite: Path
    public_suite: Path
    substitutes: Path | None
    notebook: Path | None
    declaration: ModuleType

    @property
    def module_file(self) -> str:
        """The file name a submission is staged as."""
        return f"{self.module}.py"

    @property
    def submission_names(self) -> tuple[str, str]:
        """The names a student's solution file may have."""
        return (f"{self.module}.py", f"{self.module}.ipynb")

    @property
    def substituted(self) -> tuple[str, ...]:
        """The functions replaced by known-good ones in the second worker."""
        return tuple(getattr(self.declaration, "SUBSTITUTED", ())) if self.substitutes else ()

    @functools.cached_property
    def signatures(self) -> dict[str, str]:
        """Each function's signature as the reference defines it, without annotations."""
        reference = self.load_reference()
        return {name: plain_signature(getattr(reference, name)) for name in self.functions}

    def hook(self, name: str) -> Callable[..., Any] | None:
        """The declaration's optional function ``name``, or None."""
        return getattr(self.declaration, name, None)

    @property
    def has_data(self) -> bool:
        """Whether the suites get a data set (``load_data`` and its saving hooks)."""
        return self.hook("load_data") is not None

    def load_data(self, config: Any) -> object:
        """The assignment's data set; :class:`DataProblem` when it cannot be loaded."""
        if not self.has_data:
            raise DataProblem(f"the assignment {self.name} declares no data set (load_data)")
        return self.hook("load_data")(config)

    @property
    def curves(self) -> Curves | None:
        """The training curves the feedback plots, if the assignment has any."""
        return getattr(self.declaration, "CURVES", None)

    def optional_path(self, name: str) -> Path | None:
        """The declaration's optional file ``name`` (``STUB``, ``SPEC``...), or None."""
        value = getattr(self.declaration, name, None)
        return Path(value) if value else None

    @property
    def release_files(self) -> tuple[Path, ...]:
        """The files the student bundle ships as they are (``RELEASE_FILES``)."""
        return tuple(Path(p) for p in getattr(self.declaration, "RELEASE_FILES", ()))

    @property
    def self_check_folder(self) -> Path:
        """The folder of the assignment's own self-check modules."""
        return self.folder / "selfcheck"

    def self_check(self) -> ModuleType:
        """The assignment's self-check package: its ``selfcheck/`` folder joined with the
        engine's generic modules (:func:`autograder.selfcheck.package_for`)."""
        if not (self.self_check_folder / "__init__.py").is_file():
            raise AssignmentError(f"the assignment {self.name} has no self-check package "
                                  f"({self.self_check_folder}/__init__.py).")
        return selfcheck.package_for(f"{self.declaration.__package__}.selfcheck")

    def public_checks(self) -> ModuleType:
        """The assignment's public checks (``selfcheck/public_checks.py``)."""
        return importlib.import_module(f"{self.self_check().__name__}.public_checks")

    def load_reference(self) -> ModuleType:
        """The reference solution, imported in the trusted process under a name of its
        own (``reference_<module>``, never the submission's module name)."""
        return load_reference(self.reference, self.helpers)


def plain_signature(function: Callable) -> str:
    """``function``'s signature without annotations: ``(A, p, training=True, rng=None)``."""
    signature = inspect.signature(function)
    plain = [p.replace(annotation=p.empty) for p in signature.parameters.values()]
    return str(signature.replace(parameters=plain, return_annotation=signature.empty))


@functools.cache
def load_reference(path: Path, helpers: tuple[Path, ...]) -> ModuleType:
    """The reference solution at ``path``, loaded once with its ``helpers`` registered."""
    for helper in helpers:  # the reference imports the students' helpers by name
        load_helper(helper)
    spec = importlib.util.spec_from_file_location(f"reference_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def load_helper(path: Path) -> ModuleType:
    """A student helper file, loaded into the trusted process from the kit's own copy and
    registered under its module name, whatever else is on ``sys.path``."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


@functools.cache
def load(name: str) -> Assignment:
    """Import ``assignments/<name>/assignment.py`` and check what it declares."""
    folder = ASSIGNMENTS_DIR / name
    if not name.isidentifier() or not (folder / "assignment.py").is_file():
        known = sorted(p.parent.name for p in ASSIGNMENTS_DIR.glob("*/assignment.py"))
        raise AssignmentError(f"there is no assignment {name!r} (no {folder}/assignment.py); "
                              f"the kit has: {', '.join(known)}.")
    declaration = importlib.import_module(f"assignments.{name}.assignment")
    missing = [item for item in _REQUIRED if not hasattr(declaration, item)]
    if missing:
        raise AssignmentError(f"{folder}/assignment.py does not declare {', '.join(missing)}.")
    substitutes = getattr(declaration, "SUBSTITUTES", None)
    return Assignment(
        name=name, folder=folder, module=declaration.MODULE,
        functions=tuple(declaration.FUNCTIONS), reference=Path(declaration.REFERENCE),
        helpers=tuple(Path(p) for p in declaration.HELPERS),
        hidden_suite=Path(declaration.HIDDEN_SUITE), public_suite=Path(declaration.PUBLIC_SUITE),
        substitutes=Path(substitutes) if substitutes else None,
        notebook=Path(declaration.NOTEBOOK) if getattr(declaration, "NOTEBOOK", None) else None,
        declaration=declaration)

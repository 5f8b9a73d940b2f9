"""The self-check of an assignment, runnable without the grading engine.

This sub-package needs only the standard library and numpy, and imports nothing from the
rest of ``autograder``: ``autograder release`` copies its modules, as they are, into the
student bundle, where ``check.py`` runs them. The kit's public suite runs the same check
functions through the sandboxed engine, so ``autograder check`` and ``python check.py``
say the same things in the same words.

Modules here, the same for every assignment: :mod:`.registry` (a check and the
decorator that registers it), :mod:`.messages` (the failure type),
:mod:`.validate` and :mod:`.compare` (checks on returned values), :mod:`.datafile` (the
expected values, stored as data), :mod:`.report` (the per-function table),
:mod:`.student` (the submission as the checks call it), :mod:`.notebook_source` and
:mod:`.runner` (what ``check.py`` does).

An assignment's own modules live in its folder, ``assignments/<name>/selfcheck/``:
``public_checks.py`` (the checks, with the module name, functions and signatures they
check), what they import beside it (such as ``explain.py``), and the bundle package's
``__init__.py``. :func:`package_for` makes that folder and this one a single package,
in the kit as in the bundle, where ``autograder release`` copies both into one
``selfcheck`` folder: the assignment's modules import the generic ones as siblings, and
:mod:`.runner` imports the assignment's checks as its sibling ``public_checks``. Each
assignment has a package of its own, so two assignments' checks never hide each other.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

ENGINE_DIR = Path(__file__).resolve().parent
# The one generic module that imports the assignment's own (its checks): each assignment's
# package loads its own copy. The others are shared with the engine, which raises and
# catches their types (a check's Failure is the engine's Failure).
PER_ASSIGNMENT = ("runner",)


def generic_modules() -> list[str]:
    """The names of the generic modules, as the bundle's ``selfcheck`` folder holds them."""
    return sorted(path.stem for path in ENGINE_DIR.glob("*.py") if path.stem != "__init__")


def package_for(name: str) -> ModuleType:
    """The self-check package ``name`` (an assignment's ``<package>.selfcheck``), with the
    generic modules joined to it: ``package_for(name).public_checks`` is that assignment's
    checks, whatever other assignment's package was made before."""
    package = importlib.import_module(name)
    if str(ENGINE_DIR) not in package.__path__:
        clashes = [module for module in generic_modules()
                   if any((Path(folder) / f"{module}.py").is_file()
                          for folder in package.__path__)]
        if clashes:
            raise ImportError(f"{name} has modules named like the generic self-check's "
                              f"({', '.join(clashes)}); rename them.")
        package.__path__.append(str(ENGINE_DIR))
        for module in generic_modules():
            if module not in PER_ASSIGNMENT:
                shared = importlib.import_module(f"{__name__}.{module}")
                sys.modules[f"{name}.{module}"] = shared
                setattr(package, module, shared)
    return package

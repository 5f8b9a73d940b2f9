"""The self-check of an assignment, runnable without the grading engine.

This sub-package needs only the standard library and numpy, and imports nothing from the
rest of ``autograder``: ``autograder release`` copies its modules, as they are, into the
student bundle, where ``check.py`` runs them. The kit's public suite runs the same check
functions through the sandboxed engine, so ``autograder check`` and ``python check.py``
say the same things in the same words.

Modules here, the same for every assignment: :mod:`.messages` (the failure type),
:mod:`.validate` and :mod:`.compare` (checks on returned values), :mod:`.datafile` (the
expected values, stored as data), :mod:`.report` (the per-function table),
:mod:`.student` (the submission as the checks call it), :mod:`.notebook_source` and
:mod:`.runner` (what ``check.py`` does).

An assignment's own modules live in its folder, ``assignments/<name>/selfcheck/``:
``public_checks.py`` (the checks, with the module name, functions and signatures they
check), what they import beside it (such as ``explain.py``), and the bundle package's
``__init__.py``. They join this package (its ``__path__``) so that they import the
modules here as siblings, as they do in the bundle, where ``autograder release`` copies
both into one ``selfcheck`` folder. Their names must differ from one assignment to the
next and from the modules here.
"""

from pathlib import Path as _Path

__path__ += [str(folder) for folder in sorted(
    (_Path(__file__).resolve().parents[2] / "assignments").glob("*/selfcheck"))]

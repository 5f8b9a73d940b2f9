"""The public checks of the softmax assignment, runnable without the grading engine.

This package needs only the standard library and numpy: ``check.py`` runs it. The kit's
public suite runs the same check functions through the sandboxed engine, so ``autograder
check`` and ``python check.py`` say the same things in the same words.

Modules: :mod:`.messages` (the failure type), :mod:`.validate` and :mod:`.compare` (checks
on returned values), :mod:`.datafile` (the expected values, stored as data),
:mod:`.public_checks` (the checks themselves), :mod:`.report` (the per-function table),
:mod:`.notebook_source` and :mod:`.runner` (what ``check.py`` does).
"""

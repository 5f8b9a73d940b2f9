"""An assignment's public suite, made from its public checks' registry.

``check.py`` runs each public check in the student's own process; the public suite runs
the very same checks through the sandboxed engine, one pytest test per check, named after
it, with its weight (``graded``) and the rules it covers (``rule``). An assignment's
public test module needs only::

    from autograder.assignment import load
    from autograder.grading.public_tests import pytest_tests

    globals().update(pytest_tests(load("NAME").public_checks().CHECKS))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest


def _test_for(check) -> Callable:
    if check.params:
        def test(student, expected, param):
            check.run(student, expected, param)

        test = pytest.mark.parametrize("param", [
            pytest.param(value, id=case_id, marks=pytest.mark.rule(*rules))
            for case_id, value, rules in check.params])(test)
    else:
        def test(student, expected):
            check.run(student, expected)

    test.__name__ = test.__qualname__ = f"test_{check.name}"
    test.__doc__ = check.run.__doc__
    test = pytest.mark.rule(*check.rules)(test)
    return pytest.mark.graded(check.function, weight=check.weight)(test)


def pytest_tests(checks: Iterable) -> dict[str, Callable]:
    """One pytest test per check of ``checks`` (a ``selfcheck.registry.Check`` list), by
    its test name, for the suite module's globals."""
    return {f"test_{check.name}": _test_for(check) for check in checks}

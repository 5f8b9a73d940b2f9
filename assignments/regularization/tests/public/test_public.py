"""Public tests of the regularization assignment: run them as often as you like.

Each test runs one check of the assignment's ``selfcheck/public_checks.py``, which tries one rule
of the assignment on small, public inputs and, when it fails, says what was expected, what
the code did and, when it can tell, the likely cause. The student bundle's ``check.py``
runs the same checks, so both say the same thing. The tests are made from the checks'
registry: one test per check, named after it, with its weight and the rules it covers.
"""

from __future__ import annotations

import pytest

from autograder.assignment import load

_PUBLIC_CHECKS = load("regularization").public_checks()
CHECKS, Check = _PUBLIC_CHECKS.CHECKS, _PUBLIC_CHECKS.Check


def _test_for(check: Check):
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


for _check in CHECKS:
    globals()[f"test_{_check.name}"] = _test_for(_check)

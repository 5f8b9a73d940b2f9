"""Public tests of the softmax assignment: small fixed inputs, run them as often as you like.

Each test runs one check of the assignment's ``selfcheck/public_checks.py``, which tries
one rule on small, public inputs and, when it fails, says what was expected, what the code
did and, when it can tell, the likely cause. The student bundle's ``check.py`` runs the
same checks, so both say the same thing: one test per check, named after it, with its
weight and the rules it covers.
"""

from __future__ import annotations

from autograder.assignment import load
from autograder.grading.public_tests import pytest_tests

globals().update(pytest_tests(load("softmax").public_checks().CHECKS))

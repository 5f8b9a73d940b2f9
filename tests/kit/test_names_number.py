"""``checks.names_number``: a ValueError "naming the value received" must state the value, not
only the bounds of the allowed range (for p = 0 the bound "0" of "(0, 1]" does not count)."""

from __future__ import annotations

import pytest

from autograder.grading.checks import names_number


@pytest.mark.parametrize(("message", "value"), [
    ("keep probability p must be in (0, 1], got 0.0", 0.0),
    ("p must satisfy 0 < p <= 1, got 0", 0.0),
    ("p=0 is not in (0, 1]", 0.0),
    ("p must be in (0, 1]; received p = 0", 0.0),
    ("dropout keep probability p=-0.3 is outside (0, 1]", -0.3),
    ("p must be between 0 and 1; got 7.0", 7.0),
    ("p must be in (0,1], got 1.25", 1.25),
    ("invalid keep probability 7", 7.0),
    ("keep probability must satisfy 0 < p <= 1, but p is equal to 0.0", 0.0),
    ("dropout was called with p set to 0.0; use 0 < p <= 1", 0.0),
    ("p was set to -0.3, which is below 0", -0.3),
])
def test_messages_that_state_the_value(message, value):
    assert names_number(message, value)


@pytest.mark.parametrize(("message", "value"), [
    ("p must be in (0, 1]", 0.0),
    ("p must be in (0, 1]", -0.3),
    ("p must be > 0", 0.0),
    ("p must satisfy 0 < p <= 1", 0.0),
    ("p must be between 0 and 1", 0.0),
    ("p must be greater than 0 and at most 1", 0.0),
    ("p must be in the range 0 to 1", 0.0),
    ("invalid keep probability", 1.25),
    ("p must be above 0 and up to 1", 0.0),
    ("p must be from 0 (excluded) up to 1", 0.0),
])
def test_messages_that_state_only_the_range(message, value):
    assert not names_number(message, value)


def test_a_message_of_thousands_of_digits_is_read_in_one_pass():
    # The range patterns once backtracked through runs of digits: 600 digits took 6.7 s
    # and 2,000 took minutes, in the trusted process, out of the student's time limits.
    assert not names_number("p must be in (0, 1], got " + "9" * 5000, 0.0)
    assert names_number("p=" + "0" * 5000, 0.0)
    assert not names_number("0 < p <= 1; " * 2000, 0.0)

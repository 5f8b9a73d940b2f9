"""Comparisons with stored expectations; each failure is a student-facing message.

An expectation (see :mod:`.datafile`) holds the expected value and, for the diagnosis of a
mismatch, the results of the mistakes students often make, each with the sentence that
names the mistake. Both were computed by the kit when the bundle was built; nothing here
computes an answer. Messages give counts, the largest difference and one example
position (the inputs are public, so nothing here is secret either).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .messages import Failure, quoted

# Tolerances of the "does this output match that mistake" tests.
VARIANT_RTOL = 1e-6
VARIANT_ATOL = 1e-9


def close(
    actual: Any,
    expected: Any,
    what: str,
    *,
    rtol: float = 1e-7,
    atol: float = 1e-9,
    hint: str = "",
) -> None:
    """Fail unless ``actual`` matches ``expected`` within tolerances that any correct
    float arithmetic (loops, einsum, @) meets."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        raise Failure(_with_hint(f"{what} should have shape {e.shape}, but it has shape "
                                 f"{a.shape}.", hint))
    bad = ~np.isclose(a, e, rtol=rtol, atol=atol)
    if not bad.any():
        return
    if a.ndim == 0:
        message = f"{what} is {a.item():.6g}, which is not the expected value."
    else:
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        message = (f"{what} differs from the expected values in {int(bad.sum())} of {a.size} "
                   f"entries (largest difference {float(np.max(np.abs(a - e))):.3g}; first at "
                   f"index {first}: got {a[first]:.6g}).")
    raise Failure(_with_hint(message, hint))


def _with_hint(message: str, hint: str) -> str:
    return f"{message}\nLikely cause: {hint}" if hint else message


def close_or_explain(actual: Any, expected: Any, what: str, explain: Callable[[], str], *,
                     rtol: float = 1e-7, atol: float = 1e-9) -> None:
    """Like :func:`close`, but on a mismatch add ``explain()`` as the likely cause."""
    try:
        close(actual, expected, what, rtol=rtol, atol=atol)
    except Failure:
        close(actual, expected, what, rtol=rtol, atol=atol, hint=explain())


def matches(actual: Any, expected: Any) -> bool:
    """Whether ``actual`` equals ``expected`` (numbers or arrays) within the variant tolerance."""
    try:
        a = np.asarray(actual, dtype=np.float64)
        e = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == e.shape and bool(np.allclose(a, e, rtol=VARIANT_RTOL, atol=VARIANT_ATOL))


def first_variant(actual: Any, variants: list, same: Callable[[Any, Any], bool] = matches) -> str:
    """The sentence of the first stored ``[value, sentence]`` mistake that ``actual`` matches."""
    for value, sentence in variants:
        if same(actual, value):
            return sentence
    return ""


@dataclass
class RaisedInfo:
    """What ``expect_raises`` caught: ``value`` is the student's exception report."""

    value: Any = None


@contextlib.contextmanager
def expect_raises(type_name: str, what: str) -> Iterator[RaisedInfo]:
    """Expect the student's code to raise ``type_name`` (e.g. "ValueError") inside the block.

    The student's exception arrives as a report with ``type_name`` and ``message``
    attributes (the engine's ``StudentRaised``, or the bundle's own); any other exception,
    a :class:`Failure` included, passes through.
    """
    info = RaisedInfo()
    try:
        yield info
    except Exception as raised:
        if isinstance(raised, Failure) or not hasattr(raised, "type_name"):
            raise
        if raised.type_name != type_name:
            raise Failure(f"{what} should raise {type_name}, but it raised "
                          f"{quoted(raised.type_name, 80)}: {quoted(raised.message)}") from None
        info.value = raised
        return
    raise Failure(f"{what} should raise {type_name}, but it returned normally.")


_UNSIGNED = r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_NUMBER = r"[-+]?#\d+#"  # a number of the message, once replaced by its index: "-#3#"
# Text that states the allowed range rather than the value received: "(0, 1]", "0 < p <= 1",
# "p > 0", "between 0 and 1", "greater than 0"... Written over the message with its numbers
# replaced by indices between two "#", so that no pattern can backtrack through a long run
# of digits (a message of 2,000 digits took minutes to read).
_RANGE_TEXT = [
    rf"[\(\[]\s*{_NUMBER}\s*[,;]\s*{_NUMBER}\s*[\)\]]",
    rf"{_NUMBER}\s*(?:<=|<|≤|>=|>|≥)\s*[A-Za-z_][\w.]*\s*(?:<=|<|≤|>=|>|≥)\s*{_NUMBER}",
    rf"(?:<=|<|≤|>=|>|≥|!=)\s*{_NUMBER}",
    rf"{_NUMBER}\s*(?:<=|<|≤|>=|>|≥)",
    rf"\bbetween\s+{_NUMBER}\s+and\s+{_NUMBER}",
    rf"{_NUMBER}\s*(?:to|-|\.\.)\s*{_NUMBER}",
    rf"\b(?:greater|larger|bigger|less|smaller|more|higher|lower)\s+than\s+(?:or\s+equal\s+to\s+)?"
    rf"{_NUMBER}",
    rf"\b(?:at\s+(?:least|most)|above|below|exceed(?:s|ing)?|from|up\s+to)\s+{_NUMBER}",
]


def names_number(message: str, value: float) -> bool:
    """Whether ``message`` states ``value`` itself, not only the bounds of a range.

    The numbers of range descriptions ("(0, 1]", "0 < p <= 1", "p > 0", "between 0 and 1")
    are removed first, so for ``value == 0`` a message that only says "p must be in
    (0, 1]" does not count, while "got 0", "p=0.0", "p is equal to 0.0" or "0 is not in
    (0, 1]" do.
    """
    numbers: list[str] = []

    def index(match: re.Match) -> str:
        numbers.append(match.group())
        return f"#{len(numbers) - 1}#"

    text = re.sub(_UNSIGNED, index, message.replace("#", " "))
    for pattern in _RANGE_TEXT:
        text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
    for sign, position in re.findall(r"([-+]?)#(\d+)#", text):
        number = float(sign + numbers[int(position)])
        if number == value or (value != 0 and abs(number - value) <= 1e-9 * abs(value)):
            return True
    return False

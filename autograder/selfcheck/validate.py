"""Checks on the values a student's function returned, made before any comparison.

Each function returns a plain, safe value or raises :class:`~.messages.Failure` with a
message that says what was expected and what came back. The grading engine uses these
same functions (``autograder.grading.validate``), so a public check and a hidden test reject a
value with the same words.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .messages import Failure, quoted


def describe(value: Any) -> str:
    """A short, student-readable description of a returned value's type."""
    if type(value).__name__ == "Unsupported" and hasattr(value, "type_name"):
        # the engine's stand-in for odd objects, named by the submission's own class
        return f"an object of type {quoted(str(value.type_name), 80)}"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, np.generic):
        return f"a numpy scalar of type numpy.{type(value).__name__}"
    return f"a {type(value).__name__}"


def array(value: Any, what: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``value`` as a finite plain ndarray of floats, or fail naming ``what``.

    Every array the contract asks for holds floats; an integer or boolean array (a mask
    of ``True``/``False``, a rounded result) is a different value and fails here.
    """
    if not isinstance(value, np.ndarray):
        raise Failure(f"{what} should be a numpy array, but your code returned {describe(value)}.")
    if value.dtype.kind != "f":
        raise Failure(f"{what} should hold floating-point numbers, but its dtype is "
                      f"{value.dtype}; convert it, e.g. with .astype(A.dtype).")
    if shape is not None and value.shape != tuple(shape):
        raise Failure(f"{what} should have shape {tuple(shape)}, but it has shape {value.shape}.")
    if not np.all(np.isfinite(value)):
        bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
        raise Failure(f"{what} contains {bad} NaN or infinite value(s); every entry should be "
                      "a finite number.")
    return value


def python_float(value: Any, what: str) -> float:
    """Return ``value`` if it is a finite Python float (numpy.float64 counts: it is one)."""
    if isinstance(value, bool) or not isinstance(value, float):
        raise Failure(f"{what} should be a Python float (wrap it in float(...)), but your code "
                      f"returned {describe(value)}.")
    if not np.isfinite(value):
        raise Failure(f"{what} should be a finite number, but it is {value}.")
    return float(value)


def sequence(value: Any, what: str, length: int | None = None) -> list:
    """Return ``value`` as a list if it is a list or tuple (of the expected length)."""
    if not isinstance(value, list | tuple):
        raise Failure(f"{what} should be a list, but your code returned {describe(value)}.")
    _has_length(value, what, length)
    return list(value)


def _has_length(value: Any, what: str, length: int | None) -> None:
    if length is not None and len(value) != length:
        raise Failure(f"{what} should have {length} item(s), but it has {len(value)}.")


def pair(value: Any, what: str) -> tuple[Any, Any]:
    """Return the two items of a 2-tuple (or 2-list) result."""
    items = sequence(value, what)
    if len(items) != 2:
        raise Failure(f"{what} should be a pair of two values, but it has {len(items)} item(s).")
    return items[0], items[1]


def mapping(value: Any, what: str, keys: tuple[str, ...]) -> dict:
    """Return ``value`` if it is a dict that holds at least ``keys``."""
    if not isinstance(value, dict):
        raise Failure(f"{what} should be a dict, but your code returned {describe(value)}.")
    missing = [key for key in keys if key not in value]
    if missing:
        raise Failure(f"{what} is missing the key(s) {', '.join(map(repr, missing))}.")
    return value


def float_values(value: Any, what: str, length: int | None = None) -> list[float]:
    """Return the numbers in ``value`` as a list of finite floats, whatever holds them: a
    list or tuple of numbers (numpy scalars and one-element arrays included) or a 1-D
    numpy array. For the value checks: the type checks look at the container itself."""
    if isinstance(value, np.ndarray):
        if value.ndim > 1 and value.size == len(value):
            value = value.reshape(-1)
        if value.ndim != 1:
            raise Failure(f"{what} should be a list of numbers, but your code returned "
                          f"{describe(value)}.")
        _has_length(value, what, length)  # before listing what may be millions
        value = list(value)
    return [number(item, f"{what}[{i}]")
            for i, item in enumerate(sequence(value, what, length))]


def number(value: Any, what: str) -> float:
    """Return ``value`` as a finite float if it is a real number of any numeric type (a
    Python or numpy scalar, a one-element array). For the value checks only."""
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        value = value.reshape(())[()]
    if isinstance(value, bool | np.bool_) or not isinstance(
            value, int | float | np.integer | np.floating):
        raise Failure(f"{what} should be a number, but your code returned {describe(value)}.")
    try:
        result = float(value)
    except OverflowError:  # a Python int of hundreds of digits
        raise Failure(f"{what} should be a finite number, but your code returned an integer "
                      "too large to be a float.") from None
    if not np.isfinite(result):
        raise Failure(f"{what} should be a finite number, but it is {result}.")
    return result

"""Checks on the values a student's function returned, made before any comparison.

Each function returns a plain, safe value or raises :class:`~.messages.Failure` with a
message that says what was expected and what came back. The messages are those of the
grading engine's own checks (``autograder.validate``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .messages import Failure


def describe(value: Any) -> str:
    """A short, student-readable description of a returned value's type."""
    if type(value).__name__ == "Unsupported" and hasattr(value, "type_name"):
        return f"an object of type {value.type_name}"  # the engine's stand-in for odd objects
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, np.generic):
        return f"a numpy scalar of type numpy.{type(value).__name__}"
    return f"a {type(value).__name__}"


def array(value: Any, what: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``value`` as a finite, real-valued plain ndarray, or fail naming ``what``."""
    if not isinstance(value, np.ndarray):
        raise Failure(f"{what} should be a numpy array, but your code returned {describe(value)}.")
    if value.dtype.kind not in "biuf":
        raise Failure(f"{what} should hold real numbers, but its dtype is {value.dtype}.")
    if shape is not None and value.shape != tuple(shape):
        raise Failure(f"{what} should have shape {tuple(shape)}, but it has shape {value.shape}.")
    if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
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
    if length is not None and len(value) != length:
        raise Failure(f"{what} should have {length} item(s), but it has {len(value)}.")
    return list(value)


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

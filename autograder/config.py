"""Loads and checks ``grader_config.py``, the one file an instructor edits.

Settings are resolved here and nowhere else; an invalid value stops the grader at once
with a message naming the setting, the file, what came and what is expected.
"""

from __future__ import annotations

import functools
import runpy
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from autograder import assignment as assignment_module
from autograder.paths import DEFAULT_CONFIG

_POSITIVE_NUMBERS = (
    "CALL_TIMEOUT_S", "TRAINING_TIMEOUT_S", "SUBMISSION_TIMEOUT_S", "KILL_GRACE_S",
    "MEMORY_LIMIT_MB", "CPU_TIME_LIMIT_S", "MAX_PROCESSES", "MAX_FILE_SIZE_MB",
    "OUTPUT_LIMIT_KB",
)
_INTEGERS = ("SANDBOX_UID_BASE", "HIDDEN_SEED", "PUBLIC_SEED")


class ConfigError(ValueError):
    """A setting in grader_config.py is missing or has a value the grader cannot use."""


@dataclass(frozen=True)
class Config:
    """The checked settings; attribute names are the names used in grader_config.py."""

    path: Path
    values: MappingProxyType

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def max_score(self) -> float:
        """The assignment's total points."""
        return float(sum(self.POINTS.values()))

    @property
    def assignment(self) -> assignment_module.Assignment:
        """The assignment this file grades (``ASSIGNMENT``), as its folder declares it."""
        return assignment_module.load(self.ASSIGNMENT)

    @property
    def functions(self) -> tuple[str, ...]:
        """The graded functions, in gradebook order."""
        return self.assignment.functions


def _fail(path: Path, name: str, message: str) -> ConfigError:
    return ConfigError(f"{path}: setting {name} {message}. Fix it in that file and run again.")


def _check(path: Path, values: dict) -> None:
    for name in (*_POSITIVE_NUMBERS, *_INTEGERS, "POINTS", "ASSIGNMENT"):
        if name not in values:
            raise _fail(path, name, "is missing")
    try:
        assignment = assignment_module.load(str(values["ASSIGNMENT"]))
    except assignment_module.AssignmentError as error:
        raise _fail(path, "ASSIGNMENT", f"is not usable: {error}") from None
    functions = assignment.functions
    for name in _POSITIVE_NUMBERS:
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise _fail(path, name, f"must be a positive number, got {value!r}")
    for name in _INTEGERS:
        if isinstance(values[name], bool) or not isinstance(values[name], int):
            raise _fail(path, name, f"must be an integer, got {values[name]!r}")
    points = values["POINTS"]
    if not isinstance(points, dict) or set(points) != set(functions):
        raise _fail(path, "POINTS", f"must give points for exactly {', '.join(functions)}")
    for function, value in points.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise _fail(path, "POINTS", f"has {value!r} for {function}; use a number >= 0")
    check = assignment.hook("check_config")
    problem = check(values) if check else None
    if problem:
        name, message = problem
        raise _fail(path, name, message)


def load(path: str | Path | None = None) -> Config:
    """Run ``grader_config.py`` (or ``path``) and return its checked upper-case settings."""
    path = Path(path) if path is not None else DEFAULT_CONFIG
    if not path.is_file():
        raise ConfigError(f"grader config {path} not found; pass --config with the path to "
                          "your grader_config.py.")
    try:
        namespace = runpy.run_path(str(path))
    except Exception as error:
        raise ConfigError(f"{path} could not be read: {type(error).__name__}: {error}") from error
    values = {key: value for key, value in namespace.items() if key.isupper()}
    _check(path, values)
    return Config(path=path.resolve(), values=MappingProxyType(values))


@functools.cache
def kit_assignment() -> assignment_module.Assignment:
    """The assignment of the kit's own ``grader_config.py``: the default of a release and
    the one nbgrader's course grades."""
    return load().assignment

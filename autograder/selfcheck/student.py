"""The submission as the public checks see it in ``check.py``: its functions, called
in this process, with each call's in-place changes and printed output recorded.

Arguments are passed as copies (arrays copied, random generators shared), as the grading
engine passes them across its process boundary, so a function that changes its inputs
cannot change the checks' own data. An exception raised by the student's code, even
``SystemExit``, becomes a :class:`StudentRaised` report.
"""

from __future__ import annotations

import contextlib
import io
import os
import traceback
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from .messages import raised_message

OUTPUT_CAP = 16 * 1024
_TOBYTES = np.ndarray.tobytes  # taken before any student code runs


class StudentRaised(Exception):
    """The student's function raised ``type_name`` with ``message``."""

    def __init__(self, function: str, type_name: str, message: str, student_traceback: str):
        self.function, self.type_name, self.message = function, type_name, message
        self.student_traceback = student_traceback
        super().__init__(self.student_message())

    def student_message(self) -> str:
        return raised_message(self.function, self.type_name, self.message,
                              self.student_traceback)


class MissingFunction(Exception):
    """The submission does not define a function a check calls."""

    def student_message(self) -> str:
        return str(self)


class Blocked(MissingFunction):
    """The function timed out too often; its further calls fail at once with that message."""


@dataclass
class CallRecord:
    """What the last call did besides returning: in-place changes and printed output."""

    function: str = ""
    mutated: list[str] = field(default_factory=list)
    output: str = ""


def student_traceback(error: BaseException, folders: list[str]) -> str:
    """The traceback lines that point into the student's own files, and the error line."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if any(frame.filename.startswith(folder) for folder in folders)]
    lines = []
    for frame in frames[-8:]:
        lines.append(f'  File "{os.path.basename(frame.filename)}", line {frame.lineno}, '
                     f"in {frame.name}")
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    return "\n".join(lines)


def _copy(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list | tuple):
        items = [_copy(item) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value


def _snapshot(value: Any, path: str, out: dict) -> None:
    """Record copies of every array (and the length of every container) under ``path``."""
    if isinstance(value, np.ndarray):
        out[path] = (value.shape, value.dtype, _TOBYTES(value))
    elif isinstance(value, list | tuple):
        out[path] = len(value)
        for i, item in enumerate(value):
            _snapshot(item, f"{path}[{i}]", out)
    elif isinstance(value, dict):
        out[path] = tuple(value)
        for key, item in value.items():
            _snapshot(item, f"{path}[{key!r}]", out)


def _mutated(before: dict, args: Any, kwargs: Any) -> list[str]:
    after: dict = {}
    _snapshot(args, "args", after)
    _snapshot(kwargs, "kwargs", after)
    return [path for path, old in before.items() if after.get(path) != old]


class LocalStudent:
    """The submission's module, called directly; the ``student`` of the public checks.

    ``signatures`` maps each function the checks may call to the signature the
    instructions give it.
    """

    def __init__(self, module: ModuleType, signatures: dict[str, str], folders: list[str],
                 blocked: dict[str, str] | None = None) -> None:
        self.module, self.signatures, self.folders = module, signatures, folders
        self.blocked = blocked or {}
        self.last_call = CallRecord()

    def __getattr__(self, name: str):
        if name in self.signatures:
            return lambda *args, **kwargs: self.call(name, args, kwargs)
        raise AttributeError(name)

    def call(self, name: str, args: tuple, kwargs: dict) -> Any:
        """Call ``name`` with copies of the arguments; record what the call changed."""
        if name in self.blocked:
            raise Blocked(self.blocked[name])
        function = getattr(self.module, name, None)
        if not callable(function):
            raise MissingFunction(f"Your submission does not define `{name}`. Define it with "
                                  f"the signature {name}{self.signatures[name]}.")
        args, kwargs = _copy(tuple(args)), _copy(dict(kwargs))
        before: dict = {}
        _snapshot(args, "args", before)
        _snapshot(kwargs, "kwargs", before)
        sink = io.StringIO()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                value = function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - report anything, even SystemExit
            self.last_call = CallRecord(name, [], sink.getvalue()[:OUTPUT_CAP])
            raise StudentRaised(name, type(error).__name__, _text(error),
                                student_traceback(error, self.folders)) from None
        self.last_call = CallRecord(name, _mutated(before, args, kwargs),
                                    sink.getvalue()[:OUTPUT_CAP])
        return value


def _text(error: BaseException) -> str:
    try:
        return str(error)[:2000]
    except Exception:  # noqa: BLE001 - a student exception's __str__ may itself raise
        return "(the exception's message could not be shown)"

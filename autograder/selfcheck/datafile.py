"""Nested expectations (dicts, lists, numbers, strings, arrays) saved as one ``.npz`` file.

Arrays are stored as arrays; the structure around them as a JSON document in the entry
``__structure__`` that refers to each array by its entry name. Loading uses
``allow_pickle=False``, so the file can hold data only, never code.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

_STRUCTURE = "__structure__"
_ARRAY = "__array__"


def _flatten(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = value
        return {_ARRAY: name}
    if isinstance(value, dict):
        if _ARRAY in value or not all(isinstance(k, str) for k in value):
            raise ValueError("expectation dicts need string keys other than " + _ARRAY)
        return {key: _flatten(item, arrays) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_flatten(item, arrays) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in an expectations file")


def _rebuild(value: Any, arrays: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_ARRAY}:
            return arrays[value[_ARRAY]]
        return {key: _rebuild(item, arrays) for key, item in value.items()}
    if isinstance(value, list):
        return [_rebuild(item, arrays) for item in value]
    return value


def dumps(data: dict) -> bytes:
    """The ``.npz`` bytes of ``data`` (deterministic for the same data)."""
    arrays: dict[str, np.ndarray] = {}
    structure = _flatten(data, arrays)
    arrays[_STRUCTURE] = np.array(json.dumps(structure, sort_keys=True))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def loads(raw: bytes) -> dict:
    """Read what :func:`dumps` wrote."""
    with np.load(io.BytesIO(raw), allow_pickle=False) as saved:
        arrays = {name: saved[name] for name in saved.files}
    structure = json.loads(str(arrays.pop(_STRUCTURE)))
    return _rebuild(structure, arrays)


def load(path: Path) -> dict:
    """Read an expectations file."""
    return loads(Path(path).read_bytes())

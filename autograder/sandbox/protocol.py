"""Plain-data messages between the trusted grader and the sandboxed worker.

A value crosses the process boundary as a JSON header plus raw array buffers, never as a
pickle: decoding can only ever build ``None``, ``bool``, ``int``, ``float``, ``str``,
``list``, ``tuple``, ``dict`` with string keys, plain ``numpy.ndarray`` of a numeric or
boolean dtype, numpy scalars, and :class:`Unsupported` placeholders. So whatever the
student's code sends back, the grader receives data it built itself, not objects whose
methods (``__eq__``, ``__array__``...) the student wrote.

Frame layout: ``!I`` header length, header JSON (UTF-8), then for each buffer ``!Q``
length and the bytes. This module is imported by the worker too, so it depends on the
standard library and numpy only.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_HEADER_BYTES = 1024 * 1024          # the JSON part of any frame
MAX_BUFFER_BYTES = 1024 * 1024 * 1024   # a whole request frame (the worker's side)
MAX_REPLY_BYTES = 64 * 1024 * 1024      # a whole reply frame (the grader's side)
MAX_BUFFERS = 4096
MAX_DEPTH = 64
ALLOWED_DTYPE_KINDS = "biufc"
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


class ProtocolError(Exception):
    """A frame or value that does not follow this protocol."""


@dataclass(frozen=True)
class Unsupported:
    """Stands for a value of a type that cannot cross the boundary (a class instance...)."""

    type_name: str


@dataclass(frozen=True)
class GeneratorState:
    """A ``numpy.random.Generator`` in transit: its bit generator's state, plain data."""

    state: dict


def _encode(value: Any, buffers: list[bytes], generators: list, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ProtocolError("value nested too deeply")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, np.ndarray):
        array = np.asarray(value)
        if array.dtype.kind not in ALLOWED_DTYPE_KINDS or array.dtype.fields is not None:
            return {"$unsupported": f"numpy array of dtype {array.dtype}"}
        buffers.append(array.tobytes())
        return {
            "$array": len(buffers) - 1,
            "dtype": array.dtype.str,
            "shape": list(array.shape),
            "subclass": None if type(value) is np.ndarray else type(value).__name__,
        }
    if isinstance(value, np.generic) and value.dtype.kind in ALLOWED_DTYPE_KINDS:
        item = value.item()
        if isinstance(item, complex):
            item = [item.real, item.imag]
        return {"$scalar": value.dtype.str, "value": item}
    if isinstance(value, np.random.Generator):
        generators.append(value)
        return {"$generator": _encode(value.bit_generator.state, buffers, generators, depth + 1)}
    if isinstance(value, GeneratorState):
        return {"$generator": _encode(value.state, buffers, generators, depth + 1)}
    if type(value) in (list, tuple):
        items = [_encode(item, buffers, generators, depth + 1) for item in value]
        return items if type(value) is list else {"$tuple": items}
    if type(value) is dict and all(type(key) is str for key in value):
        return {"$dict": {k: _encode(v, buffers, generators, depth + 1) for k, v in value.items()}}
    return {"$unsupported": _type_name(value)}


def _type_name(value: Any) -> str:
    try:
        cls = type(value)
        return f"{cls.__module__}.{cls.__qualname__}"
    except Exception:  # noqa: BLE001 - a hostile metaclass may raise anything here
        return "an unknown type"


def encode(message: dict, generators: list | None = None) -> bytes:
    """Encode ``message`` (a dict of plain data) as one frame.

    Generators met on the way are appended to ``generators`` in encoding order, so the
    caller can map the states that come back onto them.
    """
    buffers: list[bytes] = []
    header = _encode(message, buffers, generators if generators is not None else [], 0)
    header_bytes = json.dumps({"body": header, "buffers": len(buffers)}).encode()
    parts = [struct.pack("!I", len(header_bytes)), header_bytes]
    for buffer in buffers:
        parts += [struct.pack("!Q", len(buffer)), buffer]
    return b"".join(parts)


def _decode(value: Any, buffers: list[bytes], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ProtocolError("value nested too deeply")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is list:
        return [_decode(item, buffers, depth + 1) for item in value]
    if type(value) is not dict or len(value) == 0:
        raise ProtocolError("malformed value")
    if "$array" in value:
        return _decode_array(value, buffers)
    if "$scalar" in value:
        dtype = _checked_dtype(value["$scalar"])
        raw = value["value"]
        if dtype.kind == "c":
            raw = complex(*raw)
        return dtype.type(raw)
    if "$tuple" in value:
        if type(value["$tuple"]) is not list:
            raise ProtocolError("malformed tuple")
        return tuple(_decode(item, buffers, depth + 1) for item in value["$tuple"])
    if "$dict" in value:
        if type(value["$dict"]) is not dict:
            raise ProtocolError("malformed dict")
        return {str(k): _decode(v, buffers, depth + 1) for k, v in value["$dict"].items()}
    if "$generator" in value:
        return GeneratorState(_checked_state(_decode(value["$generator"], buffers, depth + 1)))
    if "$unsupported" in value:
        return Unsupported(str(value["$unsupported"])[:200])
    raise ProtocolError("malformed value")


def _checked_dtype(text: Any) -> np.dtype:
    try:
        dtype = np.dtype(str(text))
    except TypeError as error:
        raise ProtocolError(f"bad dtype {text!r}") from error
    if dtype.kind not in ALLOWED_DTYPE_KINDS or dtype.fields is not None:
        raise ProtocolError(f"dtype {dtype} not allowed")
    return dtype


def _checked_state(state: Any) -> dict:
    if type(state) is not dict or state.get("bit_generator") not in BIT_GENERATORS:
        raise ProtocolError("bad random generator state")
    return state


def _decode_array(value: dict, buffers: list[bytes]) -> np.ndarray:
    dtype = _checked_dtype(value["dtype"])
    shape = value["shape"]
    if type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape):
        raise ProtocolError("bad array shape")
    index = value["$array"]
    if type(index) is not int or not 0 <= index < len(buffers):
        raise ProtocolError("bad buffer index")
    raw = buffers[index]
    if len(raw) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise ProtocolError("array buffer does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def decode(header: dict, buffers: list[bytes]) -> dict:
    """Decode one frame's parsed header and its buffers into plain data."""
    try:
        if header.get("buffers") != len(buffers):
            raise ProtocolError("frame header does not match its buffers")
        message = _decode(header["body"], buffers, 0)
    except ProtocolError:
        raise
    except (ValueError, KeyError, TypeError, RecursionError, OverflowError) as error:
        raise ProtocolError(f"malformed frame: {type(error).__name__}") from error
    if type(message) is not dict:
        raise ProtocolError("a message must be a dict")
    return message


class FrameReader:
    """Incremental frame parser: feed bytes as they arrive, collect whole messages.

    Sizes are checked as soon as they are announced (the header's length, each buffer's
    length, the frame's total against ``max_total_bytes``), before the bytes arrive, and
    the header is parsed once, so a hostile sender can neither make the reader hold more
    than the limit nor make it re-parse a large header on every chunk.
    """

    def __init__(self, max_total_bytes: int = MAX_BUFFER_BYTES) -> None:
        self._max_total = max_total_bytes
        self._reset(bytearray())

    def _reset(self, data: bytearray) -> None:
        self._data = data
        self._header: dict | None = None
        self._count = 0
        self._pos = 0
        self._buffers: list[bytes] = []

    def feed(self, chunk: bytes) -> dict | None:
        """Add ``chunk``; return the decoded message once a whole frame has arrived."""
        self._data += chunk
        if len(self._data) > self._max_total:
            raise ProtocolError("message larger than the grader accepts")
        return self._try_parse()

    def _parse_header(self) -> bool:
        data = self._data
        if len(data) < 4:
            return False
        (header_len,) = struct.unpack_from("!I", data, 0)
        if header_len > MAX_HEADER_BYTES or 4 + header_len > self._max_total:
            raise ProtocolError("message header larger than the grader accepts")
        if len(data) < 4 + header_len:
            return False
        try:
            header = json.loads(bytes(data[4 : 4 + header_len]))
            count = header["buffers"]
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            raise ProtocolError("malformed frame header") from error
        if type(count) is not int or not 0 <= count <= MAX_BUFFERS:
            raise ProtocolError("malformed frame header")
        self._header, self._count, self._pos = header, count, 4 + header_len
        return True

    def _try_parse(self) -> dict | None:
        if self._header is None and not self._parse_header():
            return None
        data = self._data
        while len(self._buffers) < self._count:
            if len(data) < self._pos + 8:
                return None
            (size,) = struct.unpack_from("!Q", data, self._pos)
            if self._pos + 8 + size > self._max_total:
                raise ProtocolError("message larger than the grader accepts")
            if len(data) < self._pos + 8 + size:
                return None
            self._buffers.append(bytes(data[self._pos + 8 : self._pos + 8 + size]))
            self._pos += 8 + size
        header, buffers = self._header, self._buffers
        del data[: self._pos]
        self._reset(data)
        return decode(header, buffers)

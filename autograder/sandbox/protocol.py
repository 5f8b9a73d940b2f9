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

Large arrays cross once per worker. The grader names each array of at least
``KEEP_MIN_BYTES`` by the SHA-256 of its dtype, shape and bytes, or a constant one by its
identity (:class:`Keeper`, one per worker process); the first time, the array travels
with that name and the worker keeps it (:class:`KeptArrays`); later requests send only the
name, and the worker hands each use a fresh copy of what it kept, so a call that changes
its argument in place never changes what a later call receives. Arrays are written from
their own memory (no copy) and read straight into the buffers they end up in.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_HEADER_BYTES = 1024 * 1024          # the JSON part of any frame
MAX_BUFFER_BYTES = 1024 * 1024 * 1024   # a whole request frame (the worker's side)
MAX_REPLY_BYTES = 64 * 1024 * 1024      # a whole reply frame (the grader's side)
MAX_BUFFERS = 4096
KEEP_MIN_BYTES = 1024 * 1024            # arrays the worker keeps once sent
KEEP_LIMIT_BYTES = 512 * 1024 * 1024    # what one worker keeps at most
_DIRECT_READ_BYTES = 64 * 1024          # buffers at least this large are read in place
_READ_CHUNK = 1024 * 1024
MAX_DEPTH = 64
ALLOWED_DTYPE_KINDS = "biufc"
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


class ProtocolError(Exception):
    """A frame or value that does not follow this protocol."""


class Unsendable(ProtocolError):
    """A reply the grader would refuse; ``reason`` is one of :data:`UNSENDABLE_REASONS`.

    The worker checks its reply before sending it and sends the reason instead, so that
    the grader can tell the student what was wrong with the result in their own terms.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Why a result cannot cross: nested past MAX_DEPTH, more plain values than MAX_HEADER_BYTES
# of JSON hold, more than MAX_BUFFERS arrays, more than MAX_REPLY_BYTES in all.
UNSENDABLE_REASONS = ("nested", "plain_values", "arrays", "size", "unencodable")


@dataclass(frozen=True)
class Unsupported:
    """Stands for a value of a type that cannot cross the boundary (a class instance...)."""

    type_name: str


@dataclass(frozen=True)
class GeneratorState:
    """A ``numpy.random.Generator`` in transit: its bit generator's state, plain data."""

    state: dict


class Keeper:
    """The grader's record of the large arrays one worker process keeps, by name.

    An array is named by the SHA-256 of its dtype, shape and bytes, so a changed array
    gets a new name and crosses again. A constant array (:func:`constant`: read-only down
    to the array that owns its memory, such as the data set the grading loads) is named
    once, by its identity, and never hashed: its bytes cannot change unless some code of
    the grader's makes it writeable again, which none does. The Keeper holds a reference
    to each constant it named, so that the identity stays its own.

    One per worker process: a restarted worker keeps nothing, so it gets a new Keeper.
    What it keeps is bounded by ``limit_bytes``; larger arrays beyond it travel inline.
    """

    def __init__(self, limit_bytes: int = KEEP_LIMIT_BYTES) -> None:
        self.kept: set[str] = set()
        self.limit_bytes, self.kept_bytes = limit_bytes, 0
        self._constants: dict[int, tuple[np.ndarray, str]] = {}

    def name(self, array: np.ndarray, pending: dict[str, int]) -> tuple[str | None, bool]:
        """``(name, already kept)`` for ``array``, or ``(None, False)`` when it is to
        travel inline; new names go to ``pending`` (committed once the frame is built)."""
        if array.nbytes < KEEP_MIN_BYTES:
            return None, False
        key = self._name_of(array)
        if key in self.kept or key in pending:
            return key, True
        if self.kept_bytes + sum(pending.values()) + array.nbytes > self.limit_bytes:
            return None, False
        pending[key] = array.nbytes
        return key, False

    def _name_of(self, array: np.ndarray) -> str:
        if constant(array):  # the reference held keeps the identity this array's
            return self._constants.setdefault(
                id(array), (array, f"constant-{len(self._constants)}"))[1]
        digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
        digest.update(_raw(array))
        return digest.hexdigest()

    def commit(self, pending: dict[str, int]) -> None:
        """Record the arrays of a frame about to be sent as kept by the worker."""
        self.kept.update(pending)
        self.kept_bytes += sum(pending.values())


class KeptArrays:
    """The worker's store of the large arrays the grader sent once (see :class:`Keeper`).

    Each use gets a fresh copy; :meth:`original` finds the kept array a copy was made
    from, so that the worker compares a call's argument with it instead of taking another
    snapshot.
    """

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._handed: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def keep(self, key: str, array: np.ndarray) -> np.ndarray:
        """Keep ``array`` under ``key``; return a copy for this use."""
        self.arrays[key] = array
        return self.fresh(key)

    def fresh(self, key: str) -> np.ndarray:
        """A new copy of the array kept under ``key``."""
        if key not in self.arrays:
            raise ProtocolError("a kept array the worker does not have")
        copy = self.arrays[key].copy()
        self._handed[id(copy)] = (copy, self.arrays[key])
        return copy

    def original(self, array: object) -> np.ndarray | None:
        """The kept array ``array`` (a copy handed out since :meth:`forget`) was made from."""
        handed = self._handed.get(id(array))
        return handed[1] if handed is not None and handed[0] is array else None

    def forget(self) -> None:
        """Drop the record of the copies handed out (after each call)."""
        self._handed.clear()


def constant(array: np.ndarray) -> bool:
    """True when ``array`` and every array it is a view of are read-only, down to the one
    that owns the memory: no code can then change its bytes without first making one of
    them writeable again."""
    while not array.flags.writeable:
        if array.flags.owndata:
            return True
        if not isinstance(array.base, np.ndarray):
            return False  # memory of another object (bytes, a memory map...)
        array = array.base
    return False


def _raw(array: np.ndarray) -> memoryview:
    """The bytes of ``array`` in C order as ``tobytes`` gives them, without a copy when
    the array is C-contiguous."""
    flat = np.ascontiguousarray(array).reshape(-1)
    return memoryview(flat.view(np.uint8))


@dataclass
class _Encoding:
    buffers: list
    generators: list
    keeper: Keeper | None = None
    pending: dict | None = None


def _encode(value: Any, state: _Encoding, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise Unsendable("nested")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, np.ndarray):
        return _encode_array(value, state)
    if isinstance(value, np.generic) and value.dtype.kind in ALLOWED_DTYPE_KINDS:
        item = value.item()
        if isinstance(item, complex):
            item = [item.real, item.imag]
        return {"$scalar": value.dtype.str, "value": item}
    if isinstance(value, np.random.Generator):
        state.generators.append(value)
        return {"$generator": _encode(value.bit_generator.state, state, depth + 1)}
    if isinstance(value, GeneratorState):
        return {"$generator": _encode(value.state, state, depth + 1)}
    if type(value) in (list, tuple):
        items = [_encode(item, state, depth + 1) for item in value]
        return items if type(value) is list else {"$tuple": items}
    if type(value) is dict and all(type(key) is str for key in value):
        return {"$dict": {k: _encode(v, state, depth + 1) for k, v in value.items()}}
    return {"$unsupported": _type_name(value)}


def _encode_array(value: np.ndarray, state: _Encoding) -> dict:
    array = np.asarray(value)
    if array.dtype.kind not in ALLOWED_DTYPE_KINDS or array.dtype.fields is not None:
        return {"$unsupported": f"numpy array of dtype {array.dtype}"}
    encoded = {"dtype": array.dtype.str, "shape": list(array.shape),
               "subclass": None if type(value) is np.ndarray else type(value).__name__}
    key, kept = (state.keeper.name(array, state.pending) if state.keeper is not None
                 else (None, False))
    if kept:
        return {"$kept": key, **encoded}
    state.buffers.append(_raw(array))
    return {"$array": len(state.buffers) - 1, **encoded, **({"keep": key} if key else {})}


def _type_name(value: Any) -> str:
    try:
        cls = type(value)
        return f"{cls.__module__}.{cls.__qualname__}"
    except Exception:  # noqa: BLE001 - a hostile metaclass may raise anything here
        return "an unknown type"


def encode_parts(message: dict, generators: list | None = None,
                 keeper: Keeper | None = None) -> list[bytes | memoryview]:
    """Encode ``message`` (a dict of plain data) as one frame, in parts to be written in
    order: the arrays' parts are views of their own memory, not copies.

    Generators met on the way are appended to ``generators`` in encoding order, so the
    caller can map the states that come back onto them. With a ``keeper``, large arrays
    the worker already keeps are sent by name (see :class:`Keeper`).
    """
    state = _Encoding([], generators if generators is not None else [], keeper, {})
    header = _encode(message, state, 0)
    header_bytes = json.dumps({"body": header, "buffers": len(state.buffers)}).encode()
    parts: list[bytes | memoryview] = [struct.pack("!I", len(header_bytes)), header_bytes]
    for buffer in state.buffers:
        parts += [struct.pack("!Q", buffer.nbytes), buffer]
    if keeper is not None:
        keeper.commit(state.pending)
    return parts


def check_reply(frame: bytes) -> None:
    """Raise :class:`Unsendable` when the grader's :class:`FrameReader` would refuse
    ``frame`` (from :func:`encode`) as a reply, in the order the reader checks."""
    (header_len,) = struct.unpack_from("!I", frame)
    if header_len > MAX_HEADER_BYTES:
        raise Unsendable("plain_values")
    position, buffers = 4 + header_len, 0
    while position < len(frame):
        (size,) = struct.unpack_from("!Q", frame, position)
        position, buffers = position + 8 + size, buffers + 1
    if buffers > MAX_BUFFERS:
        raise Unsendable("arrays")
    if len(frame) > MAX_REPLY_BYTES:
        raise Unsendable("size")


def encode(message: dict, generators: list | None = None) -> bytes:
    """Encode ``message`` (a dict of plain data) as one frame of bytes (see
    :func:`encode_parts`)."""
    return b"".join(encode_parts(message, generators))


class FrameWriter:
    """Writes the parts of one frame to a descriptor, as far as it takes them each time."""

    def __init__(self, parts: list[bytes | memoryview]) -> None:
        self._views = [memoryview(part).cast("B") for part in parts if len(part)]

    @property
    def done(self) -> bool:
        """True once every byte has been written."""
        return not self._views

    def write_to(self, fd: int) -> None:
        """One ``writev`` of what is left (raises what ``os.writev`` raises)."""
        written = os.writev(fd, self._views[:256])
        while written and self._views:
            first = self._views[0]
            if written >= len(first):
                written -= len(first)
                self._views.pop(0)
            else:
                self._views[0] = first[written:]
                written = 0


@dataclass
class _Decoding:
    buffers: list
    kept: KeptArrays | None
    used: set


def _decode(value: Any, state: _Decoding, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ProtocolError("value nested too deeply")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is list:
        return [_decode(item, state, depth + 1) for item in value]
    if type(value) is not dict or len(value) == 0:
        raise ProtocolError("malformed value")
    if "$array" in value:
        return _decode_array(value, state)
    if "$kept" in value:
        return _decode_kept(value, state)
    if "$scalar" in value:
        dtype = _checked_dtype(value["$scalar"])
        raw = value["value"]
        if dtype.kind == "c":
            raw = complex(*raw)
        return dtype.type(raw)
    if "$tuple" in value:
        if type(value["$tuple"]) is not list:
            raise ProtocolError("malformed tuple")
        return tuple(_decode(item, state, depth + 1) for item in value["$tuple"])
    if "$dict" in value:
        if type(value["$dict"]) is not dict:
            raise ProtocolError("malformed dict")
        return {str(k): _decode(v, state, depth + 1) for k, v in value["$dict"].items()}
    if "$generator" in value:
        return GeneratorState(_checked_state(_decode(value["$generator"], state, depth + 1)))
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


def _checked_shape(value: dict) -> tuple[np.dtype, list[int]]:
    dtype = _checked_dtype(value["dtype"])
    shape = value["shape"]
    if type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape):
        raise ProtocolError("bad array shape")
    return dtype, shape


def _decode_array(value: dict, state: _Decoding) -> np.ndarray:
    dtype, shape = _checked_shape(value)
    index = value["$array"]
    if type(index) is not int or not 0 <= index < len(state.buffers):
        raise ProtocolError("bad buffer index")
    raw = state.buffers[index]
    if len(raw) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise ProtocolError("array buffer does not match its shape")
    array = np.frombuffer(raw, dtype=dtype).reshape(shape)
    # A buffer read for this frame becomes its array; any other use of it is a copy.
    if type(raw) is not bytearray or index in state.used:
        array = array.copy()
    state.used.add(index)
    key = value.get("keep")
    if key is not None and state.kept is not None:
        if type(key) is not str:
            raise ProtocolError("malformed kept array")
        return state.kept.keep(key, array)
    return array


def _decode_kept(value: dict, state: _Decoding) -> np.ndarray:
    if state.kept is None or type(value["$kept"]) is not str:
        raise ProtocolError("malformed value")
    dtype, shape = _checked_shape(value)
    array = state.kept.fresh(value["$kept"])
    if array.dtype != dtype or list(array.shape) != shape:
        raise ProtocolError("a kept array does not match its shape")
    return array


def decode(header: dict, buffers: list, kept: KeptArrays | None = None) -> dict:
    """Decode one frame's parsed header and its buffers into plain data; ``kept`` is the
    worker's store of large arrays (the grader accepts no names of kept arrays)."""
    try:
        if header.get("buffers") != len(buffers):
            raise ProtocolError("frame header does not match its buffers")
        message = _decode(header["body"], _Decoding(buffers, kept, set()), 0)
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
    than the limit nor make it re-parse a large header on every chunk. Each part of a
    frame is read into a buffer of its announced size; :meth:`read_from` reads a large
    array's bytes from the descriptor straight into the buffer its array will use.
    """

    def __init__(self, max_total_bytes: int = MAX_BUFFER_BYTES,
                 kept: KeptArrays | None = None) -> None:
        self._max_total, self._kept = max_total_bytes, kept
        self._pending = bytearray()  # bytes fed beyond the frame being read
        self._start_frame()

    def _start_frame(self) -> None:
        self._header: dict | None = None
        self._count = 0
        self._total = 0  # bytes of this frame announced so far
        self._buffers: list[bytearray] = []
        self._expect(bytearray(4), "length")

    def _expect(self, target: bytearray, what: str) -> None:
        self._target, self._filled, self._what = target, 0, what

    def feed(self, chunk: bytes) -> dict | None:
        """Add ``chunk``; return the decoded message once a whole frame has arrived (bytes
        beyond it are kept for the next call)."""
        self._pending += chunk
        taken, message = 0, None
        with memoryview(self._pending) as pending:
            while message is None and taken < len(pending):
                size = min(len(self._target) - self._filled, len(pending) - taken)
                self._target[self._filled : self._filled + size] = pending[taken : taken + size]
                taken += size
                message = self._advance(size)
        del self._pending[:taken]
        return message

    def read_from(self, fd: int) -> dict | None:
        """One read from ``fd``; return the decoded message once a whole frame has arrived.

        Raises EOFError at the end of the stream.
        """
        if self._pending:
            return self.feed(b"")
        room = len(self._target) - self._filled
        if room >= _DIRECT_READ_BYTES:
            count = os.readv(fd, [memoryview(self._target)[self._filled :]])
            if count == 0:
                raise EOFError
            return self._advance(count)
        chunk = os.read(fd, _READ_CHUNK)
        if not chunk:
            raise EOFError
        return self.feed(chunk)

    def _advance(self, count: int) -> dict | None:
        """``count`` more bytes are in the target: move on while it is full."""
        self._filled += count
        while self._filled == len(self._target):
            message = self._completed()
            if message is not None:
                return message
        return None

    def _completed(self) -> dict | None:
        """The current target is full: check and expect the next part, or decode."""
        if self._what == "length":
            (header_len,) = struct.unpack("!I", self._target)
            self._total = 4 + header_len
            if header_len > MAX_HEADER_BYTES or self._total > self._max_total:
                raise ProtocolError("message header larger than the grader accepts")
            self._expect(bytearray(header_len), "header")
            return None
        if self._what == "size":
            (size,) = struct.unpack("!Q", self._target)
            self._total += 8 + size
            if self._total > self._max_total:
                raise ProtocolError("message larger than the grader accepts")
            self._expect(bytearray(size), "buffer")
            return None
        if self._what == "header":
            self._parse_header(bytes(self._target))
        else:
            self._buffers.append(self._target)
        if len(self._buffers) < self._count:
            self._expect(bytearray(8), "size")
            return None
        header, buffers = self._header, self._buffers
        self._start_frame()
        return decode(header, buffers, self._kept)

    def _parse_header(self, data: bytes) -> None:
        try:
            header = json.loads(data)
            count = header["buffers"]
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            raise ProtocolError("malformed frame header") from error
        if type(count) is not int or not 0 <= count <= MAX_BUFFERS:
            raise ProtocolError("malformed frame header")
        self._header, self._count = header, count

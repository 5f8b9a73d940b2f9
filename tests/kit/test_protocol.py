"""The plain-data protocol between grader and worker accepts only what it documents.

Every value a worker sends back is rebuilt by :mod:`autograder.sandbox.protocol` from JSON and raw
buffers, so the grader never holds an object whose methods student code wrote. These
tests check that each allowed type survives a round trip unchanged, that anything else
arrives as an :class:`~autograder.sandbox.protocol.Unsupported` placeholder, and that every
malformed frame a hostile worker could write raises
:class:`~autograder.sandbox.protocol.ProtocolError` instead of building something unexpected.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pytest

from autograder.sandbox import protocol, replies
from autograder.sandbox.protocol import FrameReader, GeneratorState, ProtocolError, Unsupported


def _round_trip(message: dict, generators: list | None = None) -> dict:
    reply = FrameReader().feed(protocol.encode(message, generators))
    assert reply is not None, "a whole frame did not decode to a message"
    return reply


def _frame(body: Any, buffers: list[bytes] = (), declared: int | None = None) -> bytes:
    """A hand-built frame whose header says ``declared`` buffers (default: the real count)."""
    count = len(buffers) if declared is None else declared
    header = json.dumps({"body": body, "buffers": count}).encode()
    parts = [struct.pack("!I", len(header)), header]
    for buffer in buffers:
        parts += [struct.pack("!Q", len(buffer)), buffer]
    return b"".join(parts)


def _array_body(dtype: str, shape: list, index: int = 0) -> dict:
    return {"$dict": {"v": {"$array": index, "dtype": dtype, "shape": shape, "subclass": None}}}


class Sub(np.ndarray):
    """An ndarray subclass with a lying ``__eq__``, as a student might return."""

    def __eq__(self, other: object) -> np.ndarray:  # type: ignore[override]
        return np.ones(self.shape, dtype=bool)


class AlwaysEqual(float):
    """A float subclass that claims to equal anything."""

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = float.__hash__


# --- round trips ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2**70, 1.5, -0.0, float("inf"), "", "text with ünïcode \n",
    [], [1, "a", None], (), (1, 2.5), {"a": 1, "b": [1, (2, 3)]}, {},
    {"deep": [{"x": (1, [2, {"y": None}])}]},
], ids=repr)
def test_plain_python_values_round_trip(value: Any) -> None:
    back = _round_trip({"v": value})["v"]
    assert back == value or (isinstance(value, float) and np.isnan(back) and np.isnan(value))
    assert type(back) is type(value)


def test_nan_round_trips_as_float() -> None:
    back = _round_trip({"v": float("nan")})["v"]
    assert type(back) is float and np.isnan(back)


def test_tuples_and_lists_stay_distinct_when_nested() -> None:
    back = _round_trip({"v": [(1, [2]), [(3,)]]})["v"]
    assert type(back) is list and type(back[0]) is tuple and type(back[0][1]) is list
    assert type(back[1][0]) is tuple


@pytest.mark.parametrize("dtype", [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128", ">f8", ">i4",
])
@pytest.mark.parametrize("shape", [(), (0,), (5,), (3, 4), (2, 0, 3), (2, 3, 4)])
def test_arrays_round_trip_with_dtype_and_shape(dtype: str, shape: tuple) -> None:
    rng = np.random.default_rng(0)
    array = np.asarray(rng.standard_normal(shape) * 10).astype(dtype)
    back = _round_trip({"v": array})["v"]
    assert type(back) is np.ndarray
    assert back.dtype == array.dtype and back.shape == array.shape
    assert np.array_equal(back, array)
    assert back.flags.writeable and back.flags.c_contiguous


def test_non_contiguous_arrays_round_trip() -> None:
    base = np.arange(60, dtype=np.float64).reshape(6, 10)
    for view in (base.T, base[::2, 1::3], np.asfortranarray(base)):
        back = _round_trip({"v": view})["v"]
        assert np.array_equal(back, view) and back.shape == view.shape


def test_decoded_array_does_not_share_memory_with_the_frame() -> None:
    frame = bytearray(protocol.encode({"v": np.zeros(4)}))
    back = FrameReader().feed(bytes(frame))["v"]
    back[0] = 5.0
    assert back[0] == 5.0


@pytest.mark.parametrize("scalar", [
    np.float64(1.25), np.float32(-2.5), np.float16(0.5), np.int64(-3), np.int8(7),
    np.uint64(2**63), np.bool_(True), np.complex128(1 - 2j), np.complex64(3 + 4j),
], ids=lambda s: type(s).__name__)
def test_numpy_scalars_round_trip_with_their_type(scalar: np.generic) -> None:
    back = _round_trip({"v": scalar})["v"]
    assert type(back) is type(scalar)
    assert back == scalar


def test_generators_cross_as_state_and_are_collected_in_order() -> None:
    first = np.random.default_rng(1)
    second = np.random.Generator(np.random.Philox(2))
    found: list = []
    back = _round_trip({"args": [first, {"rng": second}]}, found)
    assert found == [first, second]
    state0, state1 = back["args"][0], back["args"][1]["rng"]
    assert isinstance(state0, GeneratorState) and isinstance(state1, GeneratorState)
    assert state0.state["bit_generator"] == "PCG64"
    rebuilt = np.random.Generator(np.random.PCG64())
    rebuilt.bit_generator.state = state0.state
    assert rebuilt.random() == np.random.default_rng(1).random()


@pytest.mark.parametrize("name", protocol.BIT_GENERATORS)
def test_every_allowed_bit_generator_round_trips(name: str) -> None:
    generator = np.random.Generator(getattr(np.random, name)(3))
    generator.random(7)
    back = _round_trip({"v": generator})["v"]
    rebuilt = np.random.Generator(getattr(np.random, name)())
    rebuilt.bit_generator.state = back.state
    assert rebuilt.random(5).tolist() == generator.random(5).tolist()


def test_generator_state_placeholder_round_trips() -> None:
    state = np.random.default_rng(5).bit_generator.state
    back = _round_trip({"v": GeneratorState(state)})["v"]
    assert back == GeneratorState(state)
    mt_state = np.random.MT19937(5).state
    back = _round_trip({"v": GeneratorState(mt_state)})["v"]
    assert np.array_equal(back.state["state"]["key"], mt_state["state"]["key"])


# --- what may not cross ----------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_ndarray_subclasses_arrive_as_plain_ndarrays() -> None:
    lying = np.arange(6.0).reshape(2, 3).view(Sub)
    matrix = np.asmatrix(np.eye(2))
    masked = np.ma.array([1.0, 2.0], mask=[False, True])
    for value in (lying, matrix, masked):
        back = _round_trip({"v": value})["v"]
        assert type(back) is np.ndarray
    back = _round_trip({"v": lying})["v"]
    assert not np.array_equal(back, np.zeros((2, 3))), "the subclass's __eq__ came along"


@pytest.mark.parametrize("value", [
    np.array([1, "a", None], dtype=object),
    np.zeros(3, dtype=[("a", "f8"), ("b", "i4")]),
    np.array(["abc", "de"]),
    np.array([b"x"]),
    np.array(["2024-01-01"], dtype="datetime64[D]"),
    np.zeros(2, dtype="V8"),
], ids=lambda a: str(a.dtype))
def test_arrays_of_other_dtypes_become_unsupported(value: np.ndarray) -> None:
    back = _round_trip({"v": value})["v"]
    assert isinstance(back, Unsupported)
    assert str(value.dtype) in back.type_name


@pytest.mark.parametrize("value", [
    object(), {1, 2}, {1: "int key"}, b"bytes", bytearray(b"x"), lambda: None, AlwaysEqual(1.0),
    np.str_("s"), np.datetime64("2024-01-01"), range(3), Ellipsis, 1 + 2j,
    np.random.PCG64(1),
], ids=lambda v: type(v).__name__)
def test_unknown_types_become_unsupported(value: Any) -> None:
    back = _round_trip({"v": value})["v"]
    assert isinstance(back, Unsupported)
    assert back.type_name


def test_unsupported_type_name_from_a_hostile_metaclass_is_safe() -> None:
    class Meta(type):
        def __getattribute__(cls, name: str) -> Any:
            raise RuntimeError("no attributes for you")

    class Weird(metaclass=Meta):
        pass

    back = _round_trip({"v": Weird()})["v"]
    assert isinstance(back, Unsupported)


def test_unsupported_type_names_are_clipped() -> None:
    frame = _frame({"$dict": {"v": {"$unsupported": "x" * 10_000}}})
    back = FrameReader().feed(frame)["v"]
    assert isinstance(back, Unsupported) and len(back.type_name) <= 200


def test_encoding_too_deep_a_value_raises() -> None:
    value: list = []
    for _ in range(protocol.MAX_DEPTH + 5):
        value = [value]
    with pytest.raises(protocol.Unsendable) as raised:
        protocol.encode({"v": value})
    assert raised.value.reason == "nested"


# A result the grader's reader refuses, and why (the worker sends the reason instead).
REFUSED_REPLIES = {
    "plain_values": {"value": np.random.default_rng(0).random(60_000).tolist()},
    "arrays": {"value": [np.zeros(1)] * (protocol.MAX_BUFFERS + 1)},
    "size": {"value": np.zeros(protocol.MAX_REPLY_BYTES // 8 + 1)},
}


@pytest.mark.parametrize("reason", sorted(REFUSED_REPLIES))
def test_the_worker_names_why_the_grader_would_refuse_a_reply(reason: str) -> None:
    frame = protocol.encode(REFUSED_REPLIES[reason])
    with pytest.raises(protocol.Unsendable) as raised:
        protocol.check_reply(frame)
    assert raised.value.reason == reason and reason in protocol.UNSENDABLE_REASONS
    with pytest.raises(ProtocolError):
        FrameReader(protocol.MAX_REPLY_BYTES).feed(frame)


def test_the_grader_has_words_for_every_reason_a_worker_may_give() -> None:
    assert set(replies._UNSENDABLE) == set(protocol.UNSENDABLE_REASONS)


def test_a_reply_at_the_limits_is_sent_and_read() -> None:
    reply = {"value": [np.zeros(1)] * (protocol.MAX_BUFFERS - 1),
             "large": np.zeros(protocol.MAX_REPLY_BYTES // 8 - 100_000),
             "numbers": np.arange(30_000.0).tolist()}
    frame = protocol.encode(reply)
    protocol.check_reply(frame)
    back = FrameReader(protocol.MAX_REPLY_BYTES).feed(frame)
    assert len(back["value"]) == protocol.MAX_BUFFERS - 1 and back["numbers"][-1] == 29_999.0


# --- malformed frames ------------------------------------------------------------------------

def _deep_list(depth: int) -> Any:
    body: Any = 1
    for _ in range(depth):
        body = [body]
    return body


MALFORMED = {
    "body not a dict": _frame([1, 2]),
    "unknown marker": _frame({"$dict": {"v": {"$pickle": "gASV"}}}),
    "empty object": _frame({"$dict": {"v": {}}}),
    "bare json object": _frame({"a": 1}),
    "dict marker with a list": _frame({"$dict": [["a", 1]]}),
    "tuple marker with a dict": _frame({"$dict": {"v": {"$tuple": {"a": 1}}}}),
    "tuple marker with an int": _frame({"$dict": {"v": {"$tuple": 5}}}),
    "too deep": _frame({"$dict": {"v": _deep_list(protocol.MAX_DEPTH + 2)}}),
    "dtype O": _frame(_array_body("O", [1]), [b"\0" * 8]),
    "dtype |V8": _frame(_array_body("|V8", [1]), [b"\0" * 8]),
    "dtype U4": _frame(_array_body("<U4", [1]), [b"\0" * 16]),
    "dtype datetime": _frame(_array_body("<M8[D]", [1]), [b"\0" * 8]),
    "dtype structured": _frame(_array_body("f8,i4", [1]), [b"\0" * 12]),
    "dtype subarray": _frame(_array_body("(2,)f8", [1]), [b"\0" * 16]),
    "dtype nonsense": _frame(_array_body("not-a-dtype", [1]), [b"\0" * 8]),
    "dtype not a string": _frame(_array_body(["<f8"], [1]), [b"\0" * 8]),
    "buffer too short": _frame(_array_body("<f8", [2]), [b"\0" * 8]),
    "buffer too long": _frame(_array_body("<f8", [1]), [b"\0" * 16]),
    "buffer index out of range": _frame(_array_body("<f8", [1], index=1), [b"\0" * 8]),
    "buffer index negative": _frame(_array_body("<f8", [1], index=-1), [b"\0" * 8]),
    "buffer index not int": _frame(_array_body("<f8", [1], index="0"), [b"\0" * 8]),
    "no buffer at all": _frame(_array_body("<f8", [1])),
    "negative shape": _frame(_array_body("<f8", [-1]), [b""]),
    "bool in shape": _frame(_array_body("<f8", [True]), [b"\0" * 8]),
    "shape not a list": _frame(_array_body("<f8", 1), [b"\0" * 8]),
    "overflowing shape": _frame(_array_body("<f8", [2**32, 2**32]), [b""]),
    "array without dtype": _frame({"$dict": {"v": {"$array": 0, "shape": [0]}}}, [b""]),
    "scalar dtype O": _frame({"$dict": {"v": {"$scalar": "O", "value": 1}}}),
    "scalar dtype |V8": _frame({"$dict": {"v": {"$scalar": "|V8", "value": 1}}}),
    "scalar overflow": _frame({"$dict": {"v": {"$scalar": "<i8", "value": 2**80}}}),
    "complex scalar not a pair": _frame({"$dict": {"v": {"$scalar": "<c16", "value": 1}}}),
    "unknown bit generator": _frame({"$dict": {"v": {"$generator": {"$dict": {
        "bit_generator": "os.system", "state": {"$dict": {}}}}}}}),
    "bit generator dunder": _frame(
        {"$dict": {"v": {"$generator": {"$dict": {"bit_generator": "__class__"}}}}}),
    "bit generator not a string": _frame(
        {"$dict": {"v": {"$generator": {"$dict": {"bit_generator": ["PCG64"]}}}}}),
    "generator state not a dict": _frame({"$dict": {"v": {"$generator": "PCG64"}}}),
    "generator state a raw object": _frame(
        {"$dict": {"v": {"$generator": {"bit_generator": "PCG64"}}}}),
    "generator without a name": _frame(
        {"$dict": {"v": {"$generator": {"$dict": {"state": {"$dict": {}}}}}}}),
}


@pytest.mark.parametrize("frame", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_frames_raise_protocol_error(frame: bytes) -> None:
    with pytest.raises(ProtocolError):
        FrameReader().feed(frame)


@pytest.mark.parametrize("header", [
    b"{not json", b"\xff\xfe", b"[]", b'"text"', b"{}", b'{"buffers": -1, "body": {}}',
    b'{"buffers": "1", "body": {}}', b'{"buffers": 1.0, "body": {}}', b"[" * 100_000,
], ids=["bad json", "not utf8", "list", "string", "no keys", "negative count",
        "string count", "float count", "deep json"])
def test_malformed_headers_raise_protocol_error(header: bytes) -> None:
    frame = struct.pack("!I", len(header)) + header
    with pytest.raises(ProtocolError):
        FrameReader().feed(frame)


def test_wrong_buffer_count_raises() -> None:
    body = {"$dict": {"v": {"$array": 0, "dtype": "<f8", "shape": [1], "subclass": None}}}
    with pytest.raises(ProtocolError):
        protocol.decode({"body": body, "buffers": 2}, [b"\0" * 8])
    with pytest.raises(ProtocolError):
        protocol.decode({"body": body, "buffers": 1}, [])


def test_huge_header_length_is_refused_before_reading_it() -> None:
    reader = FrameReader()
    with pytest.raises(ProtocolError, match="header"):
        reader.feed(struct.pack("!I", protocol.MAX_HEADER_BYTES + 1))
    with pytest.raises(ProtocolError):
        FrameReader().feed(struct.pack("!I", 0xFFFFFFFF))


def test_huge_buffer_length_is_refused_before_reading_it() -> None:
    header = json.dumps({"body": {}, "buffers": 1}).encode()
    frame = struct.pack("!I", len(header)) + header + struct.pack("!Q", 2**62)
    with pytest.raises(ProtocolError):
        FrameReader(max_total_bytes=1 << 20).feed(frame)


def test_reader_refuses_more_data_than_its_cap() -> None:
    frame = protocol.encode({"v": np.zeros(1000)})
    with pytest.raises(ProtocolError):
        FrameReader(max_total_bytes=len(frame) - 1).feed(frame)


# --- incremental reading ---------------------------------------------------------------------

def test_frames_split_into_one_byte_chunks() -> None:
    message = {"a": np.arange(12, dtype=np.int32).reshape(3, 4), "b": [np.float64(2.0), "x"],
               "c": (np.zeros(0), {"d": np.ones(3, dtype=bool)})}
    frame = protocol.encode(message)
    reader = FrameReader()
    results = [reader.feed(frame[i : i + 1]) for i in range(len(frame))]
    assert all(r is None for r in results[:-1])
    back = results[-1]
    assert np.array_equal(back["a"], message["a"]) and back["b"] == [2.0, "x"]
    assert back["c"][0].shape == (0,) and back["c"][1]["d"].all()


def test_back_to_back_frames_are_read_one_at_a_time() -> None:
    reader = FrameReader()
    frames = protocol.encode({"n": 1}) + protocol.encode({"n": 2})
    assert reader.feed(frames) == {"n": 1}
    assert reader.feed(b"") == {"n": 2}
    assert reader.feed(b"") is None


def test_partial_frame_waits_for_the_rest() -> None:
    frame = protocol.encode({"v": np.arange(5.0)})
    reader = FrameReader()
    assert reader.feed(frame[:3]) is None
    assert reader.feed(frame[3:-1]) is None
    assert np.array_equal(reader.feed(frame[-1:])["v"], np.arange(5.0))


# --- large arrays: sent once, kept by the worker, written and read without copies ---------------

def test_a_large_array_crosses_once_and_each_use_gets_a_fresh_copy() -> None:
    big = np.arange(300_000, dtype=np.float64).reshape(600, 500)
    keeper, kept = protocol.Keeper(), protocol.KeptArrays()
    reader = FrameReader(kept=kept)
    first = b"".join(protocol.encode_parts({"X": big, "y": np.ones(3)}, keeper=keeper))
    second = b"".join(protocol.encode_parts({"X": big, "again": big}, keeper=keeper))
    assert len(first) > big.nbytes and len(second) < 1000
    one = reader.feed(first)["X"]
    one *= 2  # a call that changes its argument in place
    two = reader.feed(second)
    assert np.array_equal(two["X"], big) and np.array_equal(two["again"], big)
    assert two["X"] is not two["again"] and kept.original(two["X"]) is kept.original(two["again"])
    assert np.array_equal(kept.original(two["X"]), big)
    kept.forget()
    assert kept.original(two["X"]) is None


def test_a_changed_array_is_sent_again_under_its_new_name() -> None:
    big = np.zeros(200_000)
    keeper = protocol.Keeper()
    protocol.encode_parts({"X": big}, keeper=keeper)
    changed = big.copy()
    changed[7] = 1.0
    frame = b"".join(protocol.encode_parts({"X": changed}, keeper=keeper))
    assert len(frame) > changed.nbytes and len(keeper.kept) == 2
    reader = FrameReader(kept=protocol.KeptArrays())
    assert reader.feed(frame)["X"][7] == 1.0


def test_a_constant_array_is_named_once_without_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    owner = np.arange(300_000, dtype=np.float64)
    big = owner.reshape(600, 500)  # a view, as np.load gives
    for array in (big, owner):
        array.flags.writeable = False
    assert protocol.constant(big)
    monkeypatch.setattr(protocol.hashlib, "sha256", lambda *_: pytest.fail("hashed"))
    keeper = protocol.Keeper()
    first = b"".join(protocol.encode_parts({"X": big}, keeper=keeper))
    second = b"".join(protocol.encode_parts({"X": big, "again": big}, keeper=keeper))
    assert len(first) > big.nbytes and len(second) < 1000 and len(keeper.kept) == 1
    reader = FrameReader(kept=protocol.KeptArrays())
    assert np.array_equal(reader.feed(first)["X"], big)
    assert np.array_equal(reader.feed(second)["again"], big)


def test_a_read_only_view_of_memory_that_can_change_is_hashed_every_time() -> None:
    owner = np.zeros(200_000)
    view = owner[:]
    view.flags.writeable = False
    assert not protocol.constant(view)
    assert not protocol.constant(np.frombuffer(owner.tobytes()))  # memory of a bytes object
    keeper = protocol.Keeper()
    protocol.encode_parts({"X": view}, keeper=keeper)
    owner[7] = 1.0  # the view's bytes change through the array that owns them
    frame = b"".join(protocol.encode_parts({"X": view}, keeper=keeper))
    assert len(frame) > view.nbytes and len(keeper.kept) == 2
    assert FrameReader(kept=protocol.KeptArrays()).feed(frame)["X"][7] == 1.0


def test_the_grader_accepts_no_kept_names_and_the_worker_no_unknown_ones() -> None:
    body = {"$dict": {"X": {"$kept": "ab" * 32, "dtype": "<f8", "shape": [2]}}}
    with pytest.raises(ProtocolError):
        FrameReader().feed(_frame(body))
    with pytest.raises(ProtocolError, match="kept array"):
        FrameReader(kept=protocol.KeptArrays()).feed(_frame(body))


def test_what_a_worker_keeps_is_bounded() -> None:
    keeper = protocol.Keeper(limit_bytes=3 * 2**20)
    arrays = [np.full(2**17, float(i)) for i in range(4)]  # 1 MiB each
    frame = b"".join(protocol.encode_parts({"a": arrays}, keeper=keeper))
    assert keeper.kept_bytes == 3 * 2**20 and len(keeper.kept) == 3
    back = FrameReader(kept=protocol.KeptArrays()).feed(frame)["a"]
    assert all(np.array_equal(a, b) for a, b in zip(back, arrays, strict=True))


def test_frames_cross_a_pipe_in_parts_and_are_read_in_place() -> None:
    import os
    import threading

    message = {"X": np.arange(500_000, dtype=np.float32).reshape(1000, 500)[:, ::2],
               "small": [np.int8(3), np.ones(4, dtype=bool)], "text": "é" * 10}
    read_fd, write_fd = os.pipe()
    writer = protocol.FrameWriter(protocol.encode_parts(message))
    got: list = []

    def read() -> None:
        reader = FrameReader()
        while not got:
            reply = reader.read_from(read_fd)
            if reply is not None:
                got.append(reply)

    thread = threading.Thread(target=read)
    thread.start()
    while not writer.done:
        writer.write_to(write_fd)
    thread.join(10)
    os.close(write_fd)
    assert np.array_equal(got[0]["X"], message["X"]) and got[0]["text"] == message["text"]
    assert got[0]["small"][0] == 3 and got[0]["small"][1].all()
    with pytest.raises(EOFError):
        FrameReader().read_from(read_fd)
    os.close(read_fd)

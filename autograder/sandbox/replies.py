"""The trust boundary for the worker's replies: each one is checked before the grader uses it.

The worker runs student code, which can rewrite the worker at will, so a reply may be
anything the protocol can carry. Every field the grader reads is checked here for type,
size and consistency (the reply answers the request just sent, a generator state is one
the grader's own numpy accepts) and returned in a normalised form. Anything else raises
:class:`MalformedReply`, which the proxy reports as the student's crash, never as a
grader error; a result the worker says the grader would refuse (too deep, too large)
raises :class:`UnsendableResult`, which tells the student why.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.sandbox import protocol

MAX_TEXT = 64 * 1024
MAX_SIGNATURE = 1000
_BIT_GENERATORS = {cls.__name__: cls for cls in (np.random.PCG64, np.random.PCG64DXSM,
                                                 np.random.MT19937, np.random.Philox,
                                                 np.random.SFC64)}


class MalformedReply(ValueError):
    """A reply that does not follow the protocol; the message says what was wrong."""


class UnsendableResult(MalformedReply):
    """The worker reports a result the grader would refuse; the message says why, for the
    student."""


# What the student reads for each of protocol.UNSENDABLE_REASONS.
_UNSENDABLE = {
    "nested": f"it is nested more than {protocol.MAX_DEPTH} levels deep",
    "plain_values": (f"it holds more plain Python numbers or text than the grader reads "
                     f"({protocol.MAX_HEADER_BYTES // 2**20} MiB written out, about 50,000 "
                     "numbers); return numpy arrays, not lists made with .tolist() or list()"),
    "arrays": f"it holds more than {protocol.MAX_BUFFERS} separate arrays",
    "size": f"it is larger than {protocol.MAX_REPLY_BYTES // 2**20} MiB in all",
    "unencodable": ("it holds a value that cannot be written out (for example a "
                    "numpy.longdouble number, an integer of thousands of digits, or an array "
                    "too large for memory); return float64 arrays and Python floats"),
}


def _text(reply: dict, key: str, limit: int = MAX_TEXT) -> str:
    value = reply.get(key, "")
    if type(value) is not str:
        raise MalformedReply(f"its '{key}' is not text")
    return value[:limit]


def _status(reply: dict, expected_id: int) -> str:
    if reply.get("id") != expected_id or type(reply.get("id")) is not int:
        raise MalformedReply("it answered a different request than the one sent")
    status = reply.get("status")
    if status == "unsendable":
        reason = reply.get("reason")
        raise UnsendableResult(
            _UNSENDABLE[reason] if type(reason) is str and reason in _UNSENDABLE
            else "return only numbers, numpy arrays, and lists, tuples or dicts of them")
    if status not in ("ok", "raised"):
        raise MalformedReply("its status is not one the grader knows")
    return status


def _raised(reply: dict) -> dict:
    return {"status": "raised", "type_name": _text(reply, "type_name", 100),
            "message": _text(reply, "message", 2000),
            "traceback": _text(reply, "traceback", 4000), "output": _text(reply, "output")}


def load_reply(reply: dict, contract: tuple[str, ...], expected_id: int = 0) -> dict:
    """The worker's report after importing the submission, checked and normalised:
    ``contract`` names the functions it must report on."""
    if _status(reply, expected_id) == "raised":
        return _raised(reply)
    functions = reply.get("functions")
    if type(functions) is not dict or set(functions) != set(contract):
        raise MalformedReply("its list of defined functions is malformed")
    for name, signature in functions.items():
        if signature is not None and (type(signature) is not str
                                      or len(signature) > MAX_SIGNATURE):
            raise MalformedReply(f"the signature it reported for {name} is malformed")
    return {"status": "ok", "functions": dict(functions), "output": _text(reply, "output"),
            "substitution_notes": _paths(reply, "substitution_notes", "notes on replacing "
                                                                      "functions", 500)}


def _paths(reply: dict, key: str, what: str, limit: int = 200) -> list[str]:
    """A short list of short texts (argument paths, notes), or MalformedReply."""
    value = reply.get(key, [])
    if type(value) is not list or len(value) > 10_000 or any(
            type(item) is not str for item in value):
        raise MalformedReply(f"its list of {what} is malformed")
    return [item[:limit] for item in value]


def _counts(reply: dict, contract: tuple[str, ...]) -> dict[str, int]:
    """How often the known-good functions were reached: names of the contract, counts."""
    value = reply.get("substitute_calls", {})
    if type(value) is not dict or any(
            name not in contract or type(count) is not int or count < 0
            for name, count in value.items()):
        raise MalformedReply("its count of calls to the known-good functions is malformed")
    return dict(value)


def _checked_states(states: Any, kinds: list[str]) -> list[dict]:
    """The generators' states after the call: each a valid state of the same kind of bit
    generator as the one sent (a PCG64 sent comes back as a PCG64)."""
    if not kinds:
        return []
    if type(states) is not list or len(states) != len(kinds):
        raise MalformedReply("it did not report its random generators' state")
    for state, kind in zip(states, kinds, strict=True):
        try:
            name = state["bit_generator"]
            bit_generator = _BIT_GENERATORS[name]()
            bit_generator.state = state
        except Exception as error:  # noqa: BLE001 - numpy may raise anything on a bad state
            raise MalformedReply("it reported an invalid random generator state") from error
        if name != kind:
            raise MalformedReply(f"it reported the state of a {name} generator for the {kind} "
                                 "generator it was given")
    return states


def call_reply(reply: dict, expected_id: int, generator_kinds: list[str],
               contract: tuple[str, ...]) -> dict:
    """The reply to one call, checked and normalised (``value`` is left as decoded);
    ``generator_kinds`` names the bit generator of each generator sent, in order."""
    if _status(reply, expected_id) == "raised":
        return _raised(reply)
    if "value" not in reply:
        raise MalformedReply("its result is missing")
    return {"status": "ok", "value": reply["value"],
            "mutated": _paths(reply, "mutated", "changed arguments"),
            "in_place": _paths(reply, "in_place", "arguments changed in place"),
            "substitute_calls": _counts(reply, contract),
            "output": _text(reply, "output"),
            "generator_states": _checked_states(reply.get("generator_states"),
                                                generator_kinds)}

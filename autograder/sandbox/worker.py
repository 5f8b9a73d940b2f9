"""The worker: the only process that runs student code.

Started by :mod:`autograder.sandbox.launch` inside the sandbox as
``python -I -S worker.py REQUEST_FD REPLY_FD SUBMISSION_DIR LIB_DIR --module=NAME
--functions=F1,F2,... [--packages=DIR] [--substitute]``. The substitution worker first reads
the known-good functions' source from REQUEST_FD (it is never a file in the sandbox). The
worker imports the submission's module NAME, reports which of the contract's functions it
defines, then answers ``call`` requests read from REQUEST_FD with
replies on REPLY_FD, both in :mod:`protocol` frames, each reply carrying its request's
id. It needs only the standard library, numpy and ``protocol.py`` beside it: the grader's
own code, the reference and the tests are not in the sandbox.

Nothing here is trusted by the grader: student code can patch this module at will, so
the grader validates every reply it gets.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import linecache
import os
import sys
import traceback

# Started with -I -S inside the sandbox: this folder (protocol.py) and the allowed packages
# are on the path only once they are added here, before numpy is imported.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path += [arg.split("=", 1)[1] for arg in sys.argv[5:] if arg.startswith("--packages=")]

import numpy as np  # noqa: E402

import protocol  # noqa: E402

# The substitution worker's own module, imported while this folder alone is on the path.
# Both are then kept by reference only, out of sys.modules: a submission's own protocol.py
# or substitution.py (a helper file of a folder submission) is imported as the student's.
substitution = None
if "--substitute" in sys.argv:
    import substitution  # noqa: E402

    del sys.modules["substitution"]
del sys.modules["protocol"]

# Taken before any student code runs, which may replace numpy's functions.
_NOT_EQUAL = np.not_equal
_ANY = np.logical_or.reduce
_AS_CONTIGUOUS = np.ascontiguousarray
OUTPUT_CAP = 64 * 1024


class _CappedText(io.StringIO):
    """A text sink that keeps the first OUTPUT_CAP characters and counts the rest."""

    dropped = 0

    def write(self, text: str) -> int:
        room = OUTPUT_CAP - self.tell()
        if room > 0:
            super().write(text[:room])
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def text(self) -> str:
        value = self.getvalue()
        if self.dropped:
            value += f"\n[... {self.dropped} more characters of output not kept]"
        return value


_SHOWN_FRAMES = 8
_SHOWN_REPEATS = 3  # a run of one frame (a recursion) shows this many, then a count


def _student_traceback(error: BaseException, submission_dir: str) -> str:
    """The traceback lines that point into the submission's own files, and the error line.

    Only the last frames are shown; a recursion's run of one frame is cut short as in
    Python's own tracebacks ("[Previous line repeated N more times]"). Source lines are
    read for the frames shown only, so a recursion a million frames deep costs little.
    """
    frames = ((frame.f_code.co_filename, lineno, frame.f_code.co_name)
              for frame, lineno in traceback.walk_tb(error.__traceback__))
    own = (where for where in frames if where[0].startswith(submission_dir))
    # ((file, line number, function), times in a row)
    runs = [(where, sum(1 for _ in run)) for where, run in itertools.groupby(own)]
    shown: list[list[str]] = []  # one entry per frame or repeat count, last first
    for (filename, lineno, name), times in reversed(runs):
        if times > _SHOWN_REPEATS:
            shown.append([f"  [Previous line repeated {times - _SHOWN_REPEATS} more times]"])
        source = linecache.getline(filename, lineno).strip()
        entry = [f'  File "{os.path.relpath(filename, submission_dir)}", line {lineno}, '
                 f"in {name}"] + ([f"    {source}"] if source else [])
        shown += [entry] * min(times, _SHOWN_REPEATS)
        if len(shown) >= _SHOWN_FRAMES:
            break
    lines = [line for entry in reversed(shown[:_SHOWN_FRAMES]) for line in entry]
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        lines.append(f'  File "{os.path.basename(error.filename)}", line {error.lineno}')
        if error.text:
            lines.append(f"    {error.text.strip()}")
    return "\n".join(lines)


def _error_reply(error: BaseException, submission_dir: str, output: str) -> dict:
    try:
        message = str(error)[:2000]
    except Exception:  # noqa: BLE001 - a student exception's __str__ may itself raise
        message = "(the exception's message could not be shown)"
    return {
        "status": "raised",
        "type_name": type(error).__name__,
        "message": message,
        "traceback": _student_traceback(error, submission_dir),
        "output": output,
    }


def _to_generators(value, generators: list):
    """Turn GeneratorState placeholders back into real Generators, in order."""
    if isinstance(value, protocol.GeneratorState):
        bit_generator = getattr(np.random, value.state["bit_generator"])()
        bit_generator.state = value.state
        generator = np.random.Generator(bit_generator)
        generators.append(generator)
        return generator
    if isinstance(value, list | tuple):
        items = [_to_generators(item, generators) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {key: _to_generators(item, generators) for key, item in value.items()}
    return value


def _record(value, path: str, out: dict, array_entry) -> None:
    """Record ``array_entry(array)`` for every array and the keys or length of every
    container under ``path``."""
    if isinstance(value, np.ndarray):
        out[path] = array_entry(value)
    elif isinstance(value, list | tuple):
        out[path] = len(value)
        for i, item in enumerate(value):
            _record(item, f"{path}[{i}]", out, array_entry)
    elif isinstance(value, dict):
        out[path] = tuple(value)
        for key, item in value.items():
            _record(item, f"{path}[{key!r}]", out, array_entry)


def _snapshot(value, path: str, out: dict, kept: protocol.KeptArrays) -> None:
    """Record every array (the object and a copy of it: the array kept by the worker that
    it was copied from, if any) and the keys or length of every container under
    ``path``."""
    def entry(array: np.ndarray) -> tuple:
        original = kept.original(array)
        return array, array.copy() if original is None else original

    _record(value, path, out, entry)


def _bytes_view(array: np.ndarray) -> np.ndarray:
    flat = _AS_CONTIGUOUS(array).reshape(-1).view(np.uint8)
    return flat.view(np.uint64) if flat.size % 8 == 0 else flat


def _same_array(new, old: np.ndarray) -> bool:
    # The raw bytes (as tobytes gives them), compared with numpy's own ufuncs taken before
    # student code ran: student code may have replaced numpy's functions.
    return (isinstance(new, np.ndarray) and new.shape == old.shape and new.dtype == old.dtype
            and not _ANY(_NOT_EQUAL(_bytes_view(new), _bytes_view(old)), axis=None))


def _mutated(before: dict, args, kwargs) -> tuple[list[str], list[str]]:
    """The paths whose value changed, and among them the arrays changed in place (the
    others were replaced in, added to or removed from a container of the caller's)."""
    after: dict = {}  # the arrays themselves now, without copies
    _record(args, "args", after, lambda array: array)
    _record(kwargs, "kwargs", after, lambda array: array)
    changed, in_place = [], []
    for path, old in before.items():
        new = after.get(path)
        if isinstance(old, tuple) and len(old) == 2 and isinstance(old[1], np.ndarray):
            obj, copy = old
            same = _same_array(obj, copy)
            if not same:
                in_place.append(path)
            replaced = not (same if new is obj else _same_array(new, copy))
            if replaced or not same:
                changed.append(path)
        elif new != old:
            changed.append(path)
    return changed, in_place


class Worker:
    """Loads the submission and serves calls into it."""

    def __init__(self, submission_dir: str, known_good: dict | None, module_name: str,
                 functions: list[str], kept: protocol.KeptArrays | None = None) -> None:
        self.submission_dir = submission_dir
        self.kept = kept if kept is not None else protocol.KeptArrays()
        self.known_good = known_good
        self.module_name, self.functions = module_name, functions
        self.module = None

    def load(self) -> dict:
        """Import the submission; report the contract functions it defines."""
        sink = _CappedText()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                import importlib

                self.module = importlib.import_module(self.module_name)
        except BaseException as error:  # noqa: BLE001 - report anything, even SystemExit
            return _error_reply(error, self.submission_dir, sink.text())
        notes: list[str] = []
        if self.known_good is not None:
            try:
                notes = substitution.install(self.module, self.submission_dir, self.known_good)
            except Exception as error:  # noqa: BLE001 - whatever the submission holds
                for name, function in self.known_good.items():
                    setattr(self.module, name, function)
                names = list(self.known_good)
                listed = " and ".join([", ".join(names[:-1]), names[-1]] if names[:-1]
                                      else names)
                notes = [f"the grader could replace only the module's own {listed} names "
                         f"({type(error).__name__} while looking for other references to "
                         "them)"]
        found = {}
        for name in self.functions:
            function = getattr(self.module, name, None)
            found[name] = _signature(function) if callable(function) else None
        return {"status": "ok", "functions": found, "output": sink.text(),
                "substitution_notes": notes}

    def call(self, request: dict) -> dict:
        """Call one function of the submission with the request's arguments."""
        name = request["function"]
        generators: list = []
        args = _to_generators(request.get("args", []), generators)
        kwargs = _to_generators(request.get("kwargs", {}), generators)
        before: dict = {}
        _snapshot(args, "args", before, self.kept)
        _snapshot(kwargs, "kwargs", before, self.kept)
        self.kept.forget()
        sink = _CappedText()
        if self.known_good is not None:
            substitution.reset_calls()
        try:
            function = getattr(self.module, name)
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                value = function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - report anything, even SystemExit
            return _error_reply(error, self.submission_dir, sink.text())
        changed, in_place = _mutated(before, args, kwargs)
        reply = {
            "status": "ok",
            "value": value,
            "generator_states": [g.bit_generator.state for g in generators],
            "mutated": changed,
            "in_place": in_place,
            "output": sink.text(),
        }
        if self.known_good is not None:
            reply["substitute_calls"] = dict(substitution.calls)
        return reply


def _signature(function) -> str | None:
    import inspect

    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    plain = [p.replace(annotation=p.empty) for p in signature.parameters.values()]
    return str(signature.replace(parameters=plain, return_annotation=signature.empty))


def _read_message(fd: int, reader: protocol.FrameReader) -> dict | None:
    while True:
        try:
            message = reader.read_from(fd)
        except EOFError:
            return None
        if message is not None:
            return message


def _known_good(request_fd: int, reader: protocol.FrameReader) -> dict | None:
    """Read the known-good functions' source (the first request) and build them.

    Only the function objects are kept; the source text is dropped before any student
    code runs, so it cannot be read from the worker's memory by name.
    """
    message = _read_message(request_fd, reader)
    if message is None or message.get("op") != "known_good":
        return None
    names = message.get("names")
    if type(names) is not list or not all(type(name) is str for name in names):
        return None
    namespace: dict = {"__name__": "known_good"}
    exec(compile(message.pop("source"), "<known-good>", "exec"), namespace)  # noqa: S102
    return {name: namespace[name] for name in names}


def _send(fd: int, reply: dict) -> None:
    """Write ``reply``; one the grader would refuse goes as the reason it would, and one
    that cannot be written out at all (a longdouble, an int past Python's digit limit, no
    memory left) as "unencodable", so the student reads why instead of a dead worker."""
    try:
        frame = protocol.encode(reply)
        protocol.check_reply(frame)
    except protocol.Unsendable as error:
        frame = _unsendable(error.reason, reply)
    except Exception:  # noqa: BLE001 - whatever the student's values make encoding raise
        frame = _unsendable("unencodable", reply)
    view = memoryview(frame)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _unsendable(reason: str, reply: dict) -> bytes:
    return protocol.encode({"status": "unsendable", "reason": reason, "id": reply.get("id")})


def main(argv: list[str]) -> None:
    """Serve requests until the grader closes the request pipe."""
    request_fd, reply_fd = int(argv[1]), int(argv[2])
    submission_dir, lib_dir = argv[3], argv[4]
    sys.path[:0] = [submission_dir, lib_dir]
    if "site" not in sys.modules:  # started with -S: give students exit() and quit() back
        import site

        site.setquit()
    os.environ.setdefault("MPLBACKEND", "Agg")
    kept = protocol.KeptArrays()
    reader = protocol.FrameReader(kept=kept)
    substitute = "--substitute" in argv
    options = dict(arg[2:].split("=", 1) for arg in argv[5:] if "=" in arg)
    worker = Worker(submission_dir, _known_good(request_fd, reader) if substitute else None,
                    options["module"], options["functions"].split(","), kept)
    if substitute and worker.known_good is None:
        return
    _send(reply_fd, {**worker.load(), "id": 0})
    while True:
        request = _read_message(request_fd, reader)
        if request is None or request.get("op") != "call":
            return
        reply = worker.call(request)
        reply["id"] = request.get("id")
        sys.stdout.flush()
        sys.stderr.flush()
        _send(reply_fd, reply)


if __name__ == "__main__":
    main(sys.argv)

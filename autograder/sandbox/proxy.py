"""The trusted side of the worker: calls into student code as plain data, with time limits.

:class:`StudentProxy` is what the suites' ``student`` fixture returns. ``student.f(A, 0.8,
rng)`` (any function of the assignment's contract) sends the arguments to the worker,
waits at most the call's wall-clock limit, and returns the decoded result. A
``numpy.random.Generator`` argument is mirrored: after the call it holds the state the
student's code left in the worker's copy. A crash or a timeout costs only the call it
happened in: the worker is killed and restarted for the next call.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import selectors
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder.assignment import Assignment
from autograder.config import Config
from autograder.sandbox import cgroup, protocol, replies
from autograder.sandbox import launch as sandbox
from autograder.sandbox.errors import (
    StudentCodeProblem,
    StudentCrashed,
    StudentRaised,
    StudentTimeout,
    StudentUnsendable,
)

_READ_GRACE_S = 1.0  # to read a load reply that already waits in the pipe
_PIPE_BYTES = 1 << 20  # fewer round trips for a large argument or result
_SIGNAL_REASONS = {
    signal.SIGSEGV: "it crashed with a segmentation fault (invalid memory access)",
    signal.SIGXCPU: "it used more CPU time than the limit allows",
    signal.SIGXFSZ: "it wrote a file larger than the limit allows",
    signal.SIGKILL: ("it was killed with SIGKILL: by a kill in its own code, or for going past "
                     "the memory or CPU-time limit"),
    signal.SIGABRT: "it aborted (a C library reported a fatal error)",
}


class OutputLog:
    """Collects a worker's raw stdout/stderr, keeping at most ``cap`` bytes."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.kept = bytearray()
        self.dropped = 0
        self._lock = threading.Lock()

    def drain(self, stream) -> None:
        """Read ``stream`` to its end (run in a thread), keeping what fits."""
        for chunk in iter(lambda: stream.read1(65536), b""):
            self._keep(chunk)

    def add(self, text: str) -> None:
        """Keep ``text`` (output the worker captured itself) as if it had been drained."""
        self._keep(text.encode("utf-8", errors="replace"))

    def _keep(self, chunk: bytes) -> None:
        with self._lock:
            room = self.cap - len(self.kept)
            self.kept += chunk[: max(room, 0)]
            self.dropped += max(0, len(chunk) - max(room, 0))

    def text(self) -> str:
        """The kept output as text, with a note when some was dropped."""
        with self._lock:
            text = self.kept.decode("utf-8", errors="replace")
            if self.dropped:
                text += f"\n[... {self.dropped} more bytes of output not kept]"
            return text


@dataclass
class CallRecord:
    """What the last call did besides returning: in-place changes and printed output."""

    function: str = ""
    mutated: list[str] = field(default_factory=list)
    output: str = ""
    seconds: float = 0.0
    in_place: list[str] = field(default_factory=list)  # arrays of the caller changed in place
    # In the substitution worker: how often the call reached the known-good functions.
    substitute_calls: dict[str, int] = field(default_factory=dict)


@dataclass
class Budget:
    """Wall-clock time left for all the calls of one submission."""

    seconds: float
    used: float = 0.0

    def remaining(self) -> float:
        """Seconds still available."""
        return self.seconds - self.used


class WorkerProcess:
    """One sandboxed worker: start, exchange frames under a deadline, kill."""

    def __init__(self, stage: sandbox.Stage, config: Config, *, substitute: bool, slot: int,
                 mode: str, output: OutputLog, group: cgroup.Group | None = None) -> None:
        self.stage, self.config, self.substitute = stage, config, substitute
        self.slot, self.mode, self.output, self.group = slot, mode, output, group
        self.process: subprocess.Popen | None = None
        self.load_reply: dict | None = None
        self._requests = 0
        self._launched_at = 0.0
        self._keeper = protocol.Keeper()

    def start(self, timeout: float) -> dict:
        """Start the worker and return its load reply (what it found in the submission)."""
        self.launch()
        return self.await_load(timeout)

    def launch(self) -> None:
        """Start the worker process without waiting for it to import the submission.

        The substitution worker is sent the known-good functions' source as its first
        request, so that no file of them is ever inside the sandbox.
        """
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        for fd in (request_write, reply_write):
            with contextlib.suppress(OSError):  # the machine's pipe size limit is lower
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        launch = sandbox.worker_launch(self.stage, (request_read, reply_write),
                                       self.substitute, self.slot, self.config, self.mode)
        limits = sandbox.Limits.from_config(self.config)
        try:
            self.process = subprocess.Popen(
                launch.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, env=sandbox.worker_environment(self.stage),
                cwd=self.stage.scratch, pass_fds=launch.pass_fds,
                preexec_fn=sandbox.limits_preexec(limits, self.mode, self.group),
                start_new_session=True)
        finally:
            os.close(request_read)
            os.close(reply_write)
            launch.close()
        self._request_fd, self._reply_fd = request_write, reply_read
        self._requests, self.load_reply, self._launched_at = 0, None, time.monotonic()
        self._keeper = protocol.Keeper()  # a new worker keeps no arrays yet
        if self.substitute:  # its first request; small enough for the empty pipe's buffer
            assignment = self.config.assignment
            with contextlib.suppress(BrokenPipeError):  # a dead worker shows in await_load
                os.write(request_write, protocol.encode(
                    {"op": "known_good", "source": assignment.substitutes.read_text(),
                     "names": list(assignment.substituted)}))
        threading.Thread(target=self.output.drain, args=(self.process.stdout,),
                         daemon=True).start()

    def await_load(self, timeout: float) -> dict:
        """Wait for the launched worker's load reply and return it."""
        what = "importing your submission"
        # The import's time limit counts from the launch; a worker started early (whose
        # reply may have waited in the pipe since) still gets a second to be read.
        left = timeout - (time.monotonic() - self._launched_at)
        reply = self._receive([], what, max(left, min(timeout, _READ_GRACE_S)), timeout)
        try:
            self.load_reply = replies.load_reply(reply, self.config.functions)
        except replies.MalformedReply as error:
            self.kill()
            raise StudentCrashed(what, f"it sent the grader a malformed report ({error})") from None
        if not self.substitute:  # both workers import the same code; show its output once
            self.output.add(self.load_reply["output"])
        return self.load_reply

    @property
    def launched(self) -> bool:
        """True between :meth:`launch` and the load reply (or the worker's death)."""
        return self.process is not None and self.load_reply is None

    @property
    def alive(self) -> bool:
        """True while the worker process runs."""
        return self.process is not None and self.process.poll() is None

    def exchange(self, message: dict, generators: list, function: str,
                 timeout: float) -> dict:
        """Send one request and return its checked reply; kill the worker on timeout or a
        reply that does not answer it."""
        self._requests += 1
        try:
            frame = protocol.encode_parts({**message, "id": self._requests}, generators,
                                          self._keeper)
        except protocol.ProtocolError as error:
            raise RuntimeError(f"grader could not encode arguments: {error}") from error
        reply = self._receive(frame, function, timeout)
        try:
            return replies.call_reply(
                reply, self._requests,
                [type(generator.bit_generator).__name__ for generator in generators],
                self.config.functions)
        except replies.UnsendableResult as error:
            raise StudentUnsendable(function, str(error)) from None
        except replies.MalformedReply as error:
            self.kill()
            raise StudentCrashed(function, str(error)) from None

    def _receive(self, frame: list[bytes | memoryview], function: str, timeout: float,
                 limit: float | None = None) -> dict:
        """Send ``frame`` (its parts) and return the reply, waiting at most ``timeout``
        seconds; a timeout names ``limit`` (the limit the student knows) when it is given."""
        limit = timeout if limit is None else limit
        deadline = time.monotonic() + timeout
        reader = protocol.FrameReader(protocol.MAX_REPLY_BYTES)
        writer = protocol.FrameWriter(frame)
        os.set_blocking(self._request_fd, False)
        with selectors.DefaultSelector() as selector:
            selector.register(self._reply_fd, selectors.EVENT_READ)
            if not writer.done:
                selector.register(self._request_fd, selectors.EVENT_WRITE)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.kill()
                    raise StudentTimeout(function, limit)
                for key, _ in selector.select(remaining):
                    if key.fd == self._request_fd:
                        try:
                            writer.write_to(self._request_fd)
                        except BlockingIOError:
                            continue
                        except BrokenPipeError:
                            writer = protocol.FrameWriter([])
                        if writer.done:
                            selector.unregister(self._request_fd)
                        continue
                    try:
                        reply = reader.read_from(self._reply_fd)
                    except EOFError:
                        raise StudentCrashed(function, self._death_reason()) from None
                    except protocol.ProtocolError as error:
                        self.kill()
                        raise StudentCrashed(function, f"it sent the grader a reply it could "
                                                       f"not read ({error})") from None
                    if reply is not None:
                        if time.monotonic() > deadline:  # decoding counts against the call
                            self.kill()
                            raise StudentTimeout(function, limit)
                        return reply

    def _death_reason(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return "it closed its connection to the grader"
        self.kill()
        if self.mode == sandbox.BUBBLEWRAP and 128 < code < 128 + signal.NSIG:
            code = 128 - code  # bwrap exits with 128 + N when its child dies of signal N
        if code < 0 and -code in _SIGNAL_REASONS:
            return _SIGNAL_REASONS[-code]
        if code < 0:
            return f"it was stopped by signal {-code}"
        if self.mode == sandbox.BUBBLEWRAP and code in (126, 127):
            return ("the process running your code could not start; an earlier call may have "
                    "left too many processes running")
        return (f"the process exited with status {code}; does your code call sys.exit(), "
                "exit() or os._exit()? Remove those calls.")

    def kill(self) -> None:
        """Stop the worker and everything it started: SIGTERM, then SIGKILL after a grace."""
        if self.process is None:
            return
        process, self.process = self.process, None
        for fd in (self._request_fd, self._reply_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        for sig, wait in ((signal.SIGTERM, float(self.config.KILL_GRACE_S)),
                          (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue


class StudentProxy:
    """Calls the submission's functions in a worker; what the suites' ``student`` fixture is."""

    def __init__(self, stage: sandbox.Stage, config: Config, *, slot: int = 0,
                 mode: str | None = None, substitute: bool = False,
                 budget: Budget | None = None, output: OutputLog | None = None,
                 parent: StudentProxy | None = None) -> None:
        self.config = config
        self.mode = mode or sandbox.isolation()
        self.budget = budget or Budget(float(config.SUBMISSION_TIMEOUT_S))
        self.output = output or OutputLog(int(config.OUTPUT_LIMIT_KB) * 1024)
        self.parent = parent
        self.group = parent.group if parent is not None else _memory_group(config)
        self.worker = WorkerProcess(stage, config, substitute=substitute, slot=slot,
                                    mode=self.mode, output=self.output, group=self.group)
        self.last_call = CallRecord()
        self._load_problem: StudentCodeProblem | None = None
        self._timeouts: dict[str, int] = {}
        self.substituted = (None if substitute else StudentProxy(
            stage, config, slot=slot, mode=self.mode, substitute=True, budget=self.budget,
            output=self.output, parent=self))

    @property
    def isolation(self) -> str:
        """What isolates this submission's workers, for the gradebook's isolation column."""
        layout = (self.group.layout if self.group is not None else
                  cgroup.Layout("", (), cgroup.probe().reason or "the group could not be made"))
        return sandbox.describe(self.mode, layout)

    def __getattr__(self, name: str):
        config = self.__dict__.get("config")
        if config is not None and name in config.functions:
            return lambda *args, **kwargs: self.call(name, args, kwargs)
        raise AttributeError(name)

    def load_report(self) -> dict:
        """Start the worker if needed and return what the submission defines.

        Raises the load problem (import error, timeout, crash) when there is one.
        """
        if self._load_problem is not None:
            raise self._load_problem
        if self.parent is not None and self.parent._load_problem is not None:
            raise self.parent._load_problem  # the same source; do not wait for it twice
        if self.worker.alive and self.worker.load_reply is not None:
            return self.worker.load_reply
        started = time.monotonic()
        try:
            timeout = self._timeout(float(self.config.CALL_TIMEOUT_S), "import")
            reply = (self.worker.await_load(timeout) if self.worker.launched
                     else self.worker.start(timeout))
        except (StudentTimeout, StudentCrashed) as problem:
            self._load_problem = problem
            raise
        finally:
            self.budget.used += time.monotonic() - started
        if reply.get("status") != "ok":
            self.worker.kill()
            self._load_problem = _raised("importing your submission", reply)
            raise self._load_problem
        return reply

    def launch(self) -> None:
        """Start the worker now without waiting; :meth:`load_report` waits for it. The
        import's time limit counts from here."""
        if self.worker.process is None:
            self.worker.launch()

    def prelaunch_substitute(self) -> None:
        """Start the substitution worker now, so that its start-up overlaps the calls to
        this one (for suites whose tests are marked ``substitution``)."""
        if self.substituted is not None and self._load_problem is None:
            self.substituted.launch()

    def substitution_notes(self) -> list[str]:
        """What the substitution worker could not redirect to the known-good functions."""
        try:
            notes = self.load_report().get("substitution_notes")
        except StudentCodeProblem:
            return []
        return [str(note)[:500] for note in notes] if type(notes) is list else []

    def _timeout(self, wanted: float, function: str) -> float:
        remaining = self.budget.remaining()
        if remaining <= 0:
            raise StudentTimeout(function, float(self.config.SUBMISSION_TIMEOUT_S))
        return min(wanted, remaining)

    def call(self, function: str, args: tuple = (), kwargs: dict | None = None,
             timeout: float | None = None) -> Any:
        """Call ``function`` of the submission and return its validated plain-data result."""
        if self._timeouts.get(function, 0) >= 2:
            raise StudentTimeout(function, float(self.config.CALL_TIMEOUT_S))
        functions = self.load_report()["functions"]
        if functions.get(function) is None:
            raise StudentCodeProblem(
                f"Your submission does not define `{function}`. Define it with the "
                f"signature {function}{self.config.assignment.signatures[function]}.")
        generators: list[np.random.Generator] = []
        message = {"op": "call", "function": function, "args": list(args),
                   "kwargs": dict(kwargs or {})}
        wanted = float(timeout if timeout is not None else self.config.CALL_TIMEOUT_S)
        started = time.monotonic()
        try:
            reply = self.worker.exchange(message, generators, function,
                                         self._timeout(wanted, function))
        except StudentTimeout:
            self._timeouts[function] = self._timeouts.get(function, 0) + 1
            raise
        finally:
            self.budget.used += time.monotonic() - started
        self.last_call = CallRecord(function, reply.get("mutated", []),
                                    _capped(reply["output"], self.output.cap),
                                    time.monotonic() - started, reply.get("in_place", []),
                                    reply.get("substitute_calls", {}))
        if reply["status"] == "raised":
            raise _raised(function, reply, functions.get(function), self.config.assignment)
        for generator, state in zip(generators, reply["generator_states"], strict=True):
            generator.bit_generator.state = state  # checked by replies.call_reply
        return reply["value"]

    def close(self) -> None:
        """Stop both workers, then kill what is left in their memory group and remove it."""
        self.worker.kill()
        if self.substituted is not None:
            self.substituted.close()
        if self.parent is None and self.group is not None:
            self.group.close()


def _memory_group(config: Config) -> cgroup.Group | None:
    """A fresh memory group for one submission's workers, or None where none can be made."""
    layout = cgroup.probe()
    if not layout.version:
        return None
    limits = sandbox.Limits.from_config(config)
    try:
        return cgroup.Group.create(layout, memory_bytes=limits.memory_bytes,
                                   processes=2 * limits.processes + 8)
    except OSError:
        return None


def _capped(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters of output not kept]"


def _raised(function: str, reply: dict, signature: str | None = None,
            assignment: Assignment | None = None) -> StudentRaised:
    type_name = str(reply.get("type_name", "an error"))[:100]
    message = str(reply.get("message", ""))[:2000]
    wanted = (assignment.signatures.get(function)
              if assignment and type_name == "TypeError" and signature is not None else None)
    if type_name == "TypeError" and signature is not None and wanted and signature != wanted:
        message += (f"\nYour `{function}` is defined as {function}{signature}; the assignment "
                    f"asks for {function}{wanted}.")
    return StudentRaised(function, type_name, message, str(reply.get("traceback", ""))[:4000])

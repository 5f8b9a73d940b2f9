"""A grading host: a process of the kit's own that forks grading processes from the fork
server when asked, for a runner whose own process may not start them.

A Dask worker process is daemonic (Dask's ``distributed.worker.daemon``, on by default),
and a daemonic process may not start a :mod:`multiprocessing` child. Starting ``python -m
autograder.grading`` for every student instead costs an interpreter start and the
grader's imports each time, about half a second of CPU per student, which the local
runner's fork server (:mod:`autograder.grading.fork_server`) saves. :class:`Host` starts
one host per worker process (``python -m autograder.grading.host``); the host starts the
fork server and then forks each student's grading process from it, exactly as the local
runner does.

The host listens on a Unix socket in a folder only its user can enter, and every
connection must prove the key its owner wrote to the host's standard input
(:mod:`multiprocessing.connection`'s challenge, on the connection's own thread), so no
other process can have a grading started, nor hold up the owner's. A request is a
:class:`Request`; the reply is the grading process's exit code. The host lives while its
owner keeps its standard input open: when the owner exits, or dies, the host kills the
grading processes it started and leaves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing import AuthenticationError
from multiprocessing.connection import (
    Client,
    Connection,
    Listener,
    answer_challenge,
    deliver_challenge,
)
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from autograder.grading import fork_server
from autograder.grading.grade import GraderProblem, GradingTask, forked_process

_KEY_BYTES = 32
_SOCKET = "host.sock"
_RETRY_S = 0.1
_REPLY_GRACE_S = 60.0  # past the request's own limit, the owner stops waiting for a reply


@dataclass(frozen=True)
class Request:
    """One grading process to fork: as the local runner forks it (:func:`run_forked`'s
    arguments), and the wall-clock seconds after which the host kills it."""

    task: GradingTask
    stderr_path: str
    environment: dict[str, str]
    cwd: str
    timeout: float


class _Running:
    """The grading processes this host has started and not yet reaped."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.processes: set[BaseProcess] = set()

    def start(self, context: BaseContext, request: Request) -> BaseProcess:
        process = forked_process(context, request.task, request.stderr_path,
                                 request.environment, request.cwd)
        with self.lock:  # one start at a time: multiprocessing's bookkeeping is shared
            process.start()
            self.processes.add(process)
        return process

    def done(self, process: BaseProcess) -> None:
        with self.lock:
            self.processes.discard(process)

    def kill_all(self) -> None:
        with self.lock:
            for process in self.processes:
                process.kill()


def _serve(context: BaseContext, connection: Connection, key: bytes,
           running: _Running) -> None:
    """Check that ``connection`` holds ``key`` (both ways, as a ``Listener`` with that key
    would, but on this connection's own thread: a peer that never answers holds up no
    other), then fork the grading process it asks for, wait for it (killing it at its
    limit) and send back its exit code."""
    with connection:
        try:
            deliver_challenge(connection, key)
            answer_challenge(connection, key)
            request = connection.recv()
        except (AuthenticationError, EOFError, OSError) as refused:
            print(f"grading host: a connection was refused ({refused!r})", file=sys.stderr)
            return
        if not isinstance(request, Request):
            print(f"grading host: a request of type {type(request).__name__} was refused",
                  file=sys.stderr)
            return
        process = running.start(context, request)
        process.join(request.timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
        running.done(process)
        connection.send(process.exitcode)
        process.close()


def _leave_with_owner(running: _Running, folder: str) -> None:
    """Wait until the owner closes the host's standard input (it exited or died), then kill
    what is still grading and leave."""
    sys.stdin.buffer.read()
    running.kill_all()
    shutil.rmtree(folder, ignore_errors=True)
    os._exit(0)


def main() -> int:
    """Serve grading requests (``python -m autograder.grading.host``): read the key from
    standard input, print the socket's address, then fork one grading process per
    authenticated request until standard input closes."""
    key = sys.stdin.buffer.read(_KEY_BYTES)
    if len(key) != _KEY_BYTES:
        print("the grading host needs its key on standard input", file=sys.stderr)
        return 2
    folder = tempfile.mkdtemp(prefix="regkit-host-")  # mode 0700: this user only
    running = _Running()
    # Standard output carries the address only: everything else, the fork server's and the
    # grading processes' inherited output included, goes to standard error.
    answer = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    with Listener(os.path.join(folder, _SOCKET), family="AF_UNIX") as listener:
        context = fork_server.ready()
        threading.Thread(target=_leave_with_owner, args=(running, folder), daemon=True).start()
        with answer:
            answer.write(f"{listener.address}\n")
        while True:
            try:
                connection = listener.accept()
            except OSError as failed:  # out of descriptors, say: the next may succeed
                print(f"grading host: cannot accept a connection ({failed})", file=sys.stderr)
                time.sleep(_RETRY_S)
                continue
            threading.Thread(target=_serve, args=(context, connection, key, running),
                             daemon=True).start()


class Host:
    """This process's grading host, started by the first :meth:`run` (or :meth:`start`)
    and again if it has died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._key = b""
        self._address = ""

    def start(self) -> tuple[str, bytes]:
        """The running host's address and key, starting it (and its fork server's imports)
        first if there is none."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._key = os.urandom(_KEY_BYTES)
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "autograder.grading.host"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                self._process.stdin.write(self._key)
                self._process.stdin.flush()
                self._address = self._process.stdout.readline().decode().strip()
                self._process.stdout.close()
                if not self._address:
                    code = self._process.wait()
                    raise GraderProblem(f"the grading host did not start (exit {code}); "
                                        "its error is in this worker's log")
            return self._address, self._key

    def run(self, task: GradingTask, stderr_path: str, timeout: float) -> int:
        """Grade ``task`` in a grading process forked by the host, with this process's
        environment and working folder; its exit code (negative: killed by that signal,
        as at ``timeout`` seconds)."""
        address, key = self.start()
        request = Request(task, stderr_path, dict(os.environ), os.getcwd(), timeout)
        with Client(address, family="AF_UNIX", authkey=key) as connection:
            connection.send(request)
            waited = timeout + _REPLY_GRACE_S
            if not connection.poll(waited):
                raise GraderProblem(f"the grading host gave no answer within {waited:g} s")
            return connection.recv()


if __name__ == "__main__":  # run as the package's module, whose Request the owner sends
    from autograder.grading.host import main as serve

    sys.exit(serve())

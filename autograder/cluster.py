"""Grading on a Dask distributed cluster: ``autograder grade ... --cluster ADDRESS``.

This module owns what the cluster runner adds to the local one
(:mod:`autograder.grading.batch`,
whose survey, resume, failure and progress logic it reuses): connecting to a scheduler, or
starting a ``LocalCluster`` for ``local:N``; checking before any grading that every worker
runs the same kit and, with ``--require-sandbox``, has a working bubblewrap; shipping each
submission (as bounded file contents), the config's text and the batch's saved data set
as data, so that no filesystem needs to be shared; and writing each student's returned
reports into the output folder as soon as that student's task finishes, so that an
interrupted run loses only the tasks that were running.

On the worker, a task grades one student in a grading process forked from a fork server,
in the worker's own sandbox, exactly as the local runner does; since a Dask worker process
may not start such a process itself, each worker process keeps a grading host
(:mod:`autograder.grading.host`) that forks them. Student code never runs inside the Dask
worker process. Dask is imported only here, and this module only
when ``--cluster`` is given.
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from autograder import config as config_module
from autograder.config import Config
from autograder.grading import batch, host, submission
from autograder.grading.grade import GraderProblem
from autograder.paths import PACKAGE_DIR, PROJECT_DIR
from autograder.reports import documents as reports
from autograder.sandbox import launch as sandbox
from autograder.sandbox import seccomp_filter, slots
from autograder.sandbox import view as sandbox_view

LOCAL_PREFIX = "local:"
WORKER_WAIT_S = 60.0
_FILE, _LINK, _OTHER, _FOLDER = "file", "link", "other", "folder"
_STDERR_KEPT = 64 * 1024  # of a grading process's stderr, only the last line is reported
_FIND_VIEW = "from autograder.sandbox import view; print(view.package_view())"
# What must be the same on every worker: the engine, every assignment (declarations,
# references, helpers, suites).
_KIT_PARTS = (PACKAGE_DIR, PROJECT_DIR / "assignments")
# Forks this worker process's grading processes (a Dask worker process may not itself).
_HOST = host.Host()


@functools.cache
def kit_digest() -> str:
    """A hash of the kit's code and assignments (suites, references, helpers): what must
    match on workers."""
    return batch.digest_of(*(part for part in _KIT_PARTS if part.exists()))


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker reports before grading: its kit, its isolation and why."""

    kit: str
    mode: str
    reason: str
    host: str
    python: str
    address: str = ""


@functools.cache
def prepare_worker() -> WorkerInfo:
    """Probe (once per worker process) the sandbox as the local runner does, find the
    package view that this worker's grading processes inherit, and start the worker's
    grading host (so that its imports are done before the first student).

    The view is found (or built, with a pool of processes) in a child process, since a
    Dask worker process may not start a pool itself.
    """
    mode = sandbox.isolation()
    reason = ""
    if mode == sandbox.BUBBLEWRAP:
        found = subprocess.run([sys.executable, "-c", _FIND_VIEW], capture_output=True,
                               text=True, check=True, timeout=600)
        os.environ[sandbox_view.VIEW_VARIABLE] = found.stdout.strip()
    else:
        reason = seccomp_filter.available()[1] or "bwrap is missing or cannot run"
    _HOST.start()
    return WorkerInfo(kit=kit_digest(), mode=mode, reason=reason, host=platform.node(),
                      python=platform.python_version())


@dataclass
class Entry:
    """One file system entry of a submission, as data: a file's bytes (or, past the size
    staging accepts, only its size), or a link, pipe or device (whose content is never
    read)."""

    relative: str
    kind: str
    content: bytes = b""
    size: int = 0


@dataclass
class Task:
    """Everything a worker needs to grade one student, with no path of the client's."""

    name: str
    entry: str
    files: list[Entry]
    config_name: str
    config_text: str
    suite: str
    seed: int
    fingerprint: str
    kit: str
    require_sandbox: bool


@dataclass
class Reply:
    """What a task returns: the student's report files and how the grading process ended."""

    files: dict[str, bytes]
    returncode: int
    stderr: bytes
    mode: str
    seconds: float
    worker: str


def pack(path: Path) -> list[Entry]:
    """The submission at ``path`` as data, bounded as staging bounds it.

    A file larger than staging accepts travels as its size alone (the worker recreates it
    sparse, and staging refuses it with its usual message); so does every file of a folder
    past the folder limit. Links, pipes and devices are never opened.
    """
    if not path.is_dir() or path.is_symlink():
        limit = (submission.MAX_NOTEBOOK_BYTES if path.suffix == ".ipynb"
                 else submission.MAX_SOURCE_BYTES)
        return [_entry(path, path.name, limit)]
    entries, budget = [], submission.MAX_FOLDER_BYTES
    for file in submission.folder_entries(path):
        if "__pycache__" in file.relative_to(path).parts:  # staging skips them
            continue
        entry = _entry(file, str(Path(path.name) / file.relative_to(path)), budget)
        budget -= len(entry.content) if entry.content else 0
        entries.append(entry)
    return entries


def _entry(path: Path, relative: str, limit: int) -> Entry:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return Entry(relative, _LINK)
    if stat.S_ISDIR(info.st_mode):  # past submission.MAX_FOLDER_DEPTH: staging refuses it
        return Entry(relative, _FOLDER)
    if not stat.S_ISREG(info.st_mode):
        return Entry(relative, _OTHER)
    if info.st_size > limit:
        return Entry(relative, _FILE, size=info.st_size)
    return Entry(relative, _FILE, content=path.read_bytes(), size=info.st_size)


def unpack(entries: list[Entry], folder: Path) -> None:
    """Recreate a packed submission under ``folder`` (links point nowhere)."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        target = folder / entry.relative
        if folder.resolve() not in target.resolve().parents:
            raise ValueError(f"entry {entry.relative!r} leaves the submission folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        if entry.kind == _LINK:
            target.symlink_to("/nonexistent")
        elif entry.kind == _FOLDER:
            target.mkdir(exist_ok=True)
        elif entry.kind == _OTHER:
            os.mkfifo(target)
        elif entry.content or entry.size == 0:
            target.write_bytes(entry.content)
        else:  # over the limit: only the size matters, and a sparse file costs no disk
            with open(target, "wb") as stream:
                stream.truncate(entry.size)


def grade_on_worker(task: Task, data: bytes | None) -> Reply:
    """Grade one student on this worker (the Dask task): a grading process forked by this
    worker's grading host, sandboxed as this worker allows, fed from the task's data;
    returns its report files."""
    from distributed import get_worker

    address = get_worker().address
    info = prepare_worker()
    if info.kit != task.kit:
        raise GraderProblem(_kit_mismatch(address, info.kit, task.kit))
    if task.require_sandbox and info.mode != sandbox.BUBBLEWRAP:
        raise GraderProblem(_no_sandbox(address, info))
    with tempfile.TemporaryDirectory(prefix="regkit-task-") as scratch, \
            slots.claimed(1) as (slot,):  # machine-wide: other workers and batches too
        root = Path(scratch)
        unpack(task.files, root / "submission")
        config_path = root / task.config_name
        config_path.write_text(task.config_text, encoding="utf-8")
        data_path = root / "data.npz" if data is not None else None
        if data_path is not None:
            data_path.write_bytes(data)
        config = config_module.load(config_path)
        job = batch.Job(task.name, root / "submission" / task.entry, task.fingerprint,
                        slot=slot)
        grading = batch.grading_task(job, PROJECT_DIR / task.suite, root / "out", config,
                                     task.seed, info.mode, data_path)
        stderr = root / "stderr.log"
        started = time.monotonic()
        returncode = _HOST.run(grading, str(stderr),
                               float(config.SUBMISSION_TIMEOUT_S) + batch.GRACE_S)
        seconds = time.monotonic() - started
        written = root / "out" / task.name
        files = {p.name: p.read_bytes() for p in sorted(written.glob("*"))
                 if p.is_file() and not p.name.startswith(".")} if written.is_dir() else {}
        errors = _tail(stderr)
    return Reply(files, returncode, errors, info.mode, seconds, address)


def _tail(path: Path) -> bytes:
    """The last _STDERR_KEPT bytes of ``path`` (nothing if the process never wrote it)."""
    try:
        with open(path, "rb") as stream:
            stream.seek(max(0, stream.seek(0, os.SEEK_END) - _STDERR_KEPT))
            return stream.read()
    except FileNotFoundError:
        return b""


def _kit_mismatch(address: str, theirs: str, ours: str) -> str:
    return (f"worker {address} runs a different version of the kit (code hash {theirs[:12]}, "
            f"this client {ours[:12]}); install the same kit on every worker (the same "
            "checkout or image, `pip install -e .` in it) and start the workers again.")


def _no_sandbox(address: str, info: WorkerInfo) -> str:
    return (f"--require-sandbox was given but worker {address} (host {info.host}) has no "
            f"working bubblewrap sandbox ({info.reason}). Install the 'bubblewrap' and "
            "'libseccomp2' packages on that worker (or in its image), allow unprivileged "
            "user namespaces there, and start the worker again; or drop --require-sandbox.")


@contextlib.contextmanager
def connect(address: str, log: Callable[[str], None]) -> Iterator[object]:
    """A Dask client for ``address``: ``local:N`` starts a LocalCluster of N single-threaded
    worker processes on this machine; anything else is a scheduler address."""
    try:
        import distributed
    except ImportError as error:
        raise GraderProblem(f"--cluster needs Dask distributed, which is not installed here "
                            f"({error}); install it with: pip install 'dask[distributed]'"
                            ) from error
    if address.startswith(LOCAL_PREFIX):
        count = address[len(LOCAL_PREFIX):]
        if not count.isdigit() or int(count) < 1:
            raise GraderProblem(f"--cluster {address}: give local:N with N at least 1 "
                                "(e.g. local:4), or a scheduler address (tcp://host:8786).")
        with distributed.LocalCluster(n_workers=int(count), threads_per_worker=1,
                                      processes=True, dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            log(f"cluster: started a local Dask cluster of {count} worker process(es)")
            yield client
        return
    try:
        client = distributed.Client(address, timeout=WORKER_WAIT_S)
    except (OSError, TimeoutError, ValueError) as error:
        raise GraderProblem(f"--cluster {address}: cannot reach a Dask scheduler there "
                            f"({error}); start one (dask scheduler) and give its address, "
                            "e.g. tcp://host:8786, or use local:N.") from error
    with client:
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except TimeoutError as error:
            raise GraderProblem(f"--cluster {address}: no worker joined the scheduler within "
                                f"{WORKER_WAIT_S:g} s; start workers (dask worker {address})."
                                ) from error
        log(f"cluster: connected to {address}")
        yield client


def check_workers(client: object, require_sandbox: bool,
                  log: Callable[[str], None]) -> dict[str, WorkerInfo]:
    """Probe every worker; refuse (before any grading) a worker with another kit, or
    without bubblewrap under ``--require-sandbox``; log each worker's isolation."""
    found = client.run(prepare_worker)
    workers = {address: WorkerInfo(**{**vars(info), "address": address})
               for address, info in sorted(found.items())}
    for address, info in workers.items():
        if info.kit != kit_digest():
            raise GraderProblem(_kit_mismatch(address, info.kit, kit_digest()))
        if require_sandbox and info.mode != sandbox.BUBBLEWRAP:
            raise GraderProblem(_no_sandbox(address, info))
    sandboxed = [info for info in workers.values() if info.mode == sandbox.BUBBLEWRAP]
    if sandboxed:
        log(f"isolation: bubblewrap sandbox on {len(sandboxed)} of {len(workers)} worker(s)")
    for address, info in workers.items():
        if info.mode != sandbox.BUBBLEWRAP:
            log(f"isolation on {address}: separate process with kernel limits only "
                f"({info.reason}); install bubblewrap and libseccomp2 there for full isolation")
    return workers


def _write_reply(folder: Path, files: dict[str, bytes]) -> None:
    """Write the returned reports, ``results.json`` last (it marks the student done)."""
    names = sorted(files, key=lambda name: name == reports.RESULTS_FILE)
    for name in names:
        if Path(name).name != name or name.startswith("."):
            raise ValueError(f"a worker returned the file name {name!r}")
        reports.write_atomically(folder / name, files[name].decode("utf-8"))


def grade_class(folder: Path, out: Path, suite: Path, config: Config, *, seed: int,
                jobs: int | None, force: bool, address: str, require_sandbox: bool,
                data: Path | None, log: Callable[[str], None]) -> list[str]:
    """Grade every submission in ``folder`` on the cluster at ``address`` into ``out``;
    return the students' names (as :func:`autograder.grading.batch.grade_class` does).

    At most ``jobs`` students are in flight at once (default: twice the workers' threads).
    """
    students, todo = batch.plan(folder, out, suite, config, force=force, log=log)
    if not todo:
        return students
    with connect(address, log) as client:
        workers = check_workers(client, require_sandbox, log)
        modes = {info.mode for info in workers.values()}
        failed_mode = modes.pop() if len(modes) == 1 else "unknown (mixed cluster)"
        window = jobs or 2 * sum(client.nthreads().values())
        template = Task(name="", entry="", files=[], config_name=config.path.name,
                        config_text=config.path.read_text(encoding="utf-8"),
                        suite=str(suite.resolve().relative_to(PROJECT_DIR)), seed=seed,
                        fingerprint="", kit=kit_digest(), require_sandbox=require_sandbox)
        shipped = client.scatter(data.read_bytes(), broadcast=True) if data else None
        _run_tasks(client, todo, template, shipped, out, config, failed_mode, window, log)
    return students


def _run_tasks(client: object, todo: list[batch.Job], template: Task, data: object,
               out: Path, config: Config, failed_mode: str, window: int,
               log: Callable[[str], None]) -> None:
    """Keep ``window`` tasks in flight; settle each student as soon as their task ends."""
    from distributed import as_completed

    jobs: dict[str, batch.Job] = {}

    def submit() -> object:
        job = todo.pop(0)
        job.started = time.monotonic()
        task = Task(**{**vars(template), "name": job.name, "entry": job.path.name,
                       "files": pack(job.path), "fingerprint": job.fingerprint})
        future = client.submit(grade_on_worker, task, data, pure=False,
                               key=f"grade-{job.name}-{time.time_ns()}")
        jobs[future.key] = job
        return future

    running = as_completed([submit() for _ in range(min(window, len(todo)))])
    timings = []
    for finished, future in enumerate(running, start=1):
        job = jobs.pop(future.key)
        seconds = _settle(future, job, out, config, failed_mode)
        timings.append((job.name, seconds))
        batch.log_finished(job, out, config, seconds, finished, finished + len(jobs) + len(todo),
                           log)
        if todo:
            running.add(submit())
    batch.write_timings(out, timings)


def _settle(future: object, job: batch.Job, out: Path, config: Config, failed_mode: str
            ) -> float:
    """Write a finished task's reports (or the grader-side failure); its seconds."""
    try:
        reply = future.result()
    except Exception as error:  # noqa: BLE001 - any lost task is that student's row
        message = " ".join(str(error).split())[:300]
        batch.failed_grading(job, config, failed_mode,
                             f"the cluster task failed: {type(error).__name__}: {message}", out)
        return time.monotonic() - job.started
    try:
        _write_reply(out / job.name, reply.files)
    except ValueError as error:  # a broken worker (bad name or not UTF-8), not the student
        batch.failed_grading(job, config, reply.mode, f"{reply.worker}: {error}", out)
        return reply.seconds
    batch.settle(job, config, reply.mode, out, reply.returncode, reply.stderr)
    return reply.seconds

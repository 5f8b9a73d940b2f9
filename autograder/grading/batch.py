"""Grades a whole class: one fresh grading process per student, ``jobs`` at a time.

Each grading process is forked from the batch's fork server
(:mod:`autograder.grading.fork_server`), which has already imported the grader, pytest,
numpy and matplotlib. The fork server runs no student code (that happens only in the
sandboxed workers each grading process starts), and every grading process is still a
process of its own.

A student whose ``results.json`` carries the same fingerprint (submission, suite, config
and kit all unchanged) is not graded again unless ``force`` is set, so a batch that was
interrupted resumes where it stopped and ends with the same gradebook. The steps around
the grading process (:func:`plan`, :func:`settle`, :func:`log_finished`,
:func:`write_timings`) are shared with the Dask runner, :mod:`autograder.cluster`.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import multiprocessing.connection
import os
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.config import Config
from autograder.grading import fork_server, submission
from autograder.grading.grade import GradeResult, GradingTask, forked_process, result_fields
from autograder.paths import PACKAGE_DIR
from autograder.reports import documents as reports
from autograder.reports import feedback_html
from autograder.sandbox import slots

GRACE_S = 120.0
HASH_LIMIT = 64 * 1024 * 1024


@dataclass
class Job:
    """One student's grading process."""

    name: str
    path: Path
    fingerprint: str
    process: multiprocessing.process.BaseProcess | None = None
    stderr: str = ""  # the file its stderr goes to
    slot: int = 0
    started: float = 0.0


def _hash_tree(digest: hashlib._Hash, path: Path) -> None:
    """Hash the regular files under ``path`` in chunks, at most HASH_LIMIT bytes of content.

    Past the limit (a huge or sparse file) only names, sizes and times are hashed: such a
    submission is refused by staging anyway, and nothing is read into memory whole.
    Links, pipes and devices are never opened.
    """
    directory = path.is_dir() and not path.is_symlink()
    files = submission.folder_entries(path) if directory else [path]
    budget = HASH_LIMIT
    for file in files:
        if "__pycache__" in file.parts:
            continue
        digest.update(str(file.relative_to(path.parent)).encode())
        info = file.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > budget:
            digest.update(f"{info.st_mode}:{info.st_size}:{info.st_mtime_ns}".encode())
            continue
        budget -= info.st_size
        with open(file, "rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):  # noqa: B023
                digest.update(chunk)


def digest_of(*parts: Path) -> str:
    """The SHA-256 of the files under ``parts`` (names and contents, in order)."""
    digest = hashlib.sha256()
    for part in parts:
        _hash_tree(digest, part)
    return digest.hexdigest()


def grading_digest(suite: Path, config: Config) -> str:
    """A digest of what decides every student's grade besides the submission: suite,
    config, kit code and the assignment's own files (declaration, helpers, mistake
    catalogue, reference). Taken once per batch: it is most of what is hashed."""
    assignment = config.assignment
    return digest_of(suite, config.path, PACKAGE_DIR, assignment.folder,
                     assignment.reference, *assignment.helpers)


def fingerprint(path: Path, grading: str) -> str:
    """A digest of everything that decides a grade: the submission at ``path`` and the
    batch's :func:`grading_digest`."""
    digest = hashlib.sha256(grading.encode())
    _hash_tree(digest, path)
    return digest.hexdigest()


def grading_task(job: Job, suite: Path, out: Path, config: Config, seed: int, mode: str,
                 data: Path | None) -> GradingTask:
    """What ``job``'s grading process needs (here, or on a cluster worker's host)."""
    return GradingTask(job.name, job.path, suite, out / job.name, config.path, mode, seed,
                       job.slot, job.fingerprint, data)


def _start(context: multiprocessing.context.BaseContext, job: Job, task: GradingTask) -> None:
    """Fork the grading process of ``job``; it gets this process's environment and folder
    (the fork server's may be older) and writes its stderr to a file read by _settle."""
    handle, job.stderr = tempfile.mkstemp(prefix="regkit-grading-", suffix=".log")
    os.close(handle)
    job.process = forked_process(context, task, job.stderr, dict(os.environ), os.getcwd())
    job.process.start()


def failed_grading(job: Job, config: Config, mode: str, reason: str, out: Path) -> None:
    result = GradeResult(student=job.name, kind=job.path.suffix.lstrip(".") or "folder",
                         isolation=mode, max_score=config.max_score, **result_fields(config),
                         error=f"The grader failed on this submission ({reason}). This is a "
                               "problem of the grader, not a grade: ask your instructor.")
    feedback_html.write_student(result, out / job.name, config.assignment, fingerprint="")


def plan(folder: Path, out: Path, suite: Path, config: Config, *, force: bool,
         log) -> tuple[list[str], list[Job]]:
    """Every student in ``folder``, and the jobs of those still to grade.

    Entries that are not students are logged with the reason; a student whose results
    carry the fingerprint of the same submission, suite, config and kit is logged as
    skipped (unless ``force``).
    """
    surveyed = submission.survey(folder, config.assignment)
    # An output folder inside the submissions folder is not a student.
    found = [(name, path) for name, path in surveyed.submissions
             if path.resolve() != out.resolve()]
    skipped = surveyed.skipped + [(path.name, "the output folder of this batch")
                                  for _, path in surveyed.submissions
                                  if path.resolve() == out.resolve()]
    for entry, reason in skipped:
        log(f"not graded: {entry!r}: {reason}")
    todo: list[Job] = []
    try:
        grading = grading_digest(suite, config)
    except OSError:  # a missing suite: every grading reports it, none is resumed
        grading = None
    for name, path in found:
        try:
            print_ = fingerprint(path, grading) if grading else ""
        except OSError:  # unreadable: graded (and reported) without resuming
            print_ = ""
        done = reports.read_results(out / name)
        if not force and print_ and done and done["extra_data"].get("fingerprint") == print_:
            log(f"{name}: already graded ({done['score']:g}), skipped; --force regrades")
            continue
        todo.append(Job(name, path, print_))
    return [name for name, _ in found], todo


def grade_class(folder: Path, out: Path, suite: Path, config: Config, *, seed: int,
                jobs: int, force: bool, mode: str, data: Path | None, log) -> list[str]:
    """Grade every submission in ``folder`` into ``out``; return the students' names.

    ``data`` is the assignment's data set as saved for this batch (its ``save_data``), or
    None when the assignment has none.
    """
    students, todo = plan(folder, out, suite, config, force=force, log=log)
    context = fork_server.ready()
    with slots.claimed(jobs) as free_slots:
        timings = _run(context, todo, free_slots, suite, out, config, seed, mode, data, log)
    write_timings(out, timings)
    return students


def _run(context: multiprocessing.context.BaseContext, todo: list[Job], free_slots: list[int],
         suite: Path, out: Path, config: Config, seed: int, mode: str, data: Path | None,
         log) -> list[tuple[str, float]]:
    """Grade ``todo`` in the grading slots ``free_slots``; the students' times."""
    running: list[Job] = []
    finished = 0
    timings = []
    try:
        while todo or running:
            while todo and free_slots:
                job = todo.pop(0)
                job.slot, job.started = free_slots.pop(0), time.monotonic()
                _start(context, job, grading_task(job, suite, out, config, seed, mode, data))
                running.append(job)
            multiprocessing.connection.wait([job.process.sentinel for job in running], 0.05)
            for job in [j for j in running if _finished(j, config)]:
                running.remove(job)
                free_slots.append(job.slot)
                seconds = time.monotonic() - job.started
                finished += 1
                _settle(job, config, mode, out)
                timings.append((job.name, seconds))
                log_finished(job, out, config, seconds, finished,
                             finished + len(running) + len(todo), log)
    finally:  # interrupted: the fork server's children would grade on, unseen
        for job in running:
            job.process.kill()  # its workers die with it (bubblewrap's --die-with-parent)
            job.process.join()
            os.unlink(job.stderr)
    return timings


def log_finished(job: Job, out: Path, config: Config, seconds: float, done: int, total: int,
                 log) -> None:
    """The progress line of a finished student: ``[done/total] name: score/max (seconds)``."""
    results = reports.read_results(out / job.name) or {"score": 0}
    log(f"[{done}/{total}] {job.name}: {results['score']:g}/{config.max_score:g} "
        f"({seconds:.1f} s)")


def _finished(job: Job, config: Config) -> bool:
    if job.process.exitcode is not None:
        return True
    if time.monotonic() - job.started > float(config.SUBMISSION_TIMEOUT_S) + GRACE_S:
        job.process.kill()
        job.process.join()
        return True
    return False


def _settle(job: Job, config: Config, mode: str, out: Path) -> None:
    """Make sure a finished job left a results file; write a clear one if it did not."""
    with open(job.stderr, "rb") as stream:
        stderr = stream.read()
    os.unlink(job.stderr)
    job.process.join()
    code = job.process.exitcode
    job.process.close()
    settle(job, config, mode, out, code, stderr)


def settle(job: Job, config: Config, mode: str, out: Path, returncode: int,
           stderr: bytes) -> None:
    """After a grading process exited with ``returncode``: keep the results file it wrote,
    or write a clear one naming the exit and the last line of its ``stderr``."""
    done = reports.read_results(out / job.name)
    if returncode == 0 and done is not None:
        return
    reason = f"grading process exit {returncode}"
    tail = stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
    if tail[0]:
        reason += f": {tail[0][:300]}"
    failed_grading(job, config, mode, reason, out)


def write_timings(out: Path, timings: list[tuple[str, float]]) -> None:
    if timings:
        lines = ["student,seconds"] + [f"{n},{s:.2f}" for n, s in sorted(timings)]
        reports.write_atomically(out / reports.TIMINGS_FILE, "\n".join(lines) + "\n")


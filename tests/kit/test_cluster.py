"""``autograder grade --cluster``: grading on a Dask distributed cluster.

A small class from ``samples/class`` (the untouched stub, a syntax error, a single fault
and a correct folder submission; the last two train on MNIST, so the split shipped to the
workers is used) is graded with the hidden suite locally (``--jobs 2``) and on a
``LocalCluster`` (``--cluster local:N``), with a config of its own that trains for two
epochs instead of twenty (cheaper, and the workers must use the config's text they are
sent, not their own). The cluster run is killed as soon as its first
student is written and run again: the second run skips what the first finished, and the
gradebook and every student's reports end byte-identical to the local run's. A worker
whose PATH has no ``bwrap`` makes ``--require-sandbox`` refuse, naming the worker, before
anything is graded; a worker whose kit differs stops the run, naming it, and a task that
dies (a lost worker, a worker that joined with another kit) becomes its student's row
with a grader-side message. Submissions travel to the workers as data, bounded as staging bounds
them: links, pipes and oversized files give the same staging result on the worker as on
the client. A worker process of two threads, whose tasks share one grading host, grades
to the same gradebook. The grading host that forks a worker's grading processes answers its owner
only (a wrong key or a request of another type is refused, and it goes on serving), kills
a grading at its time limit, and leaves with its owner, killing what is still grading.

Dask is imported here unconditionally: without it this file fails, it does not skip.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import distributed
import pytest

from assignments.regularization.assignment import SAMPLES as SAMPLE_CLASS
from autograder import cluster
from autograder import config as config_module
from autograder.grading import batch, host, submission
from autograder.grading.grade import GraderProblem, GradingTask
from autograder.paths import DEFAULT_CONFIG, PROJECT_DIR
from autograder.reports import documents as reports
from autograder.sandbox import launch as sandbox

STUDENTS = ("alan_turing", "barbara_liskov", "claude_shannon", "katherine_johnson")
TIMEOUT_S = 600


def _grade(*args: str, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "grade", *args],
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.fixture(scope="module")
def small_class(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("class")
    for name in STUDENTS:
        source = SAMPLE_CLASS / name
        if source.is_dir():
            shutil.copytree(source, folder / name)
        else:
            shutil.copyfile(source.with_suffix(".py"), folder / f"{name}.py")
    return folder


@pytest.fixture(scope="module")
def short_training(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "grader_config.py"
    path.write_text(DEFAULT_CONFIG.read_text()
                    + '\nMNIST_TRAINING = {"lr": 0.1, "epochs": 2, "batch_size": 64}\n')
    return path


@pytest.fixture(scope="module")
def local_grades(small_class: Path, short_training: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local")
    done = _grade(str(small_class), "--out", str(out), "--jobs", "2", "--require-sandbox",
                  "--config", str(short_training))
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def _interrupt_after_first_student(command: list[str], out: Path) -> bool:
    """Run ``command`` and kill it (and all it started) once a student's results exist."""
    process = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None:
            if any(out.glob("*/results.json")):
                break
            time.sleep(0.05)
        return process.poll() is None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_interrupted_cluster_run_resumes_to_the_local_gradebook(small_class: Path,
                                                               short_training: Path,
                                                               local_grades: Path,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "cluster"
    command = [sys.executable, "-m", "autograder", "grade", str(small_class), "--out",
               str(out), "--cluster", "local:1", "--require-sandbox", "--config",
               str(short_training)]
    assert _interrupt_after_first_student(command, out), "the run ended before the kill"
    assert not (out / "gradebook.csv").exists()
    first = sorted(p.parent.name for p in out.glob("*/results.json"))
    assert first and len(first) < len(STUDENTS)

    resumed = _grade(str(small_class), "--out", str(out), "--cluster", "local:2",
                     "--require-sandbox", "--config", str(short_training))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "cluster: started a local Dask cluster of 2 worker process(es)" in resumed.stderr
    assert "isolation: bubblewrap sandbox on 2 of 2 worker(s)" in resumed.stderr
    for student in STUDENTS:
        skipped = f"{student}: already graded" in resumed.stderr
        assert skipped == (student in first), (student, resumed.stderr[-3000:])
    graded = [line for line in resumed.stderr.splitlines() if line.startswith("[")]
    assert len(graded) == len(STUDENTS) - len(first)
    assert graded[-1].startswith(f"[{len(graded)}/{len(graded)}] ")

    assert (out / "gradebook.csv").read_bytes() == (local_grades / "gradebook.csv").read_bytes()
    for student in STUDENTS:
        for name in ("results.json", "feedback.md", "feedback.html"):
            assert (out / student / name).read_bytes() == \
                (local_grades / student / name).read_bytes(), f"{student}/{name}"
    assert (out / "tests.csv").read_bytes() == (local_grades / "tests.csv").read_bytes()
    leftovers = [p.name for p in out.rglob(".*") if p.is_file()]
    assert leftovers == [], f"temporary files left behind: {leftovers}"


def test_a_worker_of_two_threads_grades_to_the_local_gradebook(small_class: Path,
                                                              short_training: Path,
                                                              local_grades: Path,
                                                              tmp_path: Path) -> None:
    """A scheduler's address, as a Slurm or Kubernetes deployment gives it, with one worker
    process of two threads: its tasks share one grading host, which is asked for up to two
    grading processes at a time."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None) as two_threads:
        done = _grade(str(small_class), "--out", str(tmp_path / "out"), "--cluster",
                      two_threads.scheduler_address, "--require-sandbox", "--config",
                      str(short_training))
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"cluster: connected to {two_threads.scheduler_address}" in done.stderr
    assert (tmp_path / "out" / "gradebook.csv").read_bytes() == \
        (local_grades / "gradebook.csv").read_bytes()


def test_require_sandbox_names_the_worker_without_bubblewrap(small_class: Path,
                                                            tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # the worker's PATH: a python, and no bwrap
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    out = tmp_path / "grades"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None, env={"PATH": str(bin_dir)}) as local:
        worker = next(iter(local.scheduler_info["workers"]))
        done = _grade(str(small_class), "--out", str(out), "--cluster",
                      local.scheduler_address, "--require-sandbox", timeout=300)
        one = tmp_path / "one"  # without --require-sandbox: graded, and recorded as such
        one.mkdir()
        shutil.copyfile(small_class / "alan_turing.py", one / "alan_turing.py")
        unsandboxed = _grade(str(one), "--out", str(tmp_path / "one_out"), "--cluster",
                             local.scheduler_address, "--suite", "public", timeout=300)
    assert done.returncode == 2, done.stderr[-3000:]
    assert f"worker {worker}" in done.stderr
    assert "--require-sandbox" in done.stderr and "Install the 'bubblewrap'" in done.stderr
    assert "bwrap is missing or cannot run" in done.stderr
    assert not any(out.glob("*/results.json")) and not (out / "gradebook.csv").exists()
    assert unsandboxed.returncode == 0, unsandboxed.stderr[-3000:]
    assert f"isolation on {worker}: separate process with kernel limits only" in \
        unsandboxed.stderr
    row = (tmp_path / "one_out" / "gradebook.csv").read_text().splitlines()[1]
    assert row.startswith("alan_turing,0,") and ",process; seccomp; " in row


def _staged(name: str, path: Path, workdir: Path) -> tuple[list[str], str]:
    try:
        return submission.stage(name, path, workdir, config_module.load().assignment).notes, ""
    except submission.UnusableSubmission as problem:
        return [], str(problem)


@pytest.mark.parametrize("oversized", [False, True])
@pytest.mark.parametrize("nested", [False, True])
def test_a_shipped_submission_stages_as_the_original(tmp_path: Path, oversized: bool,
                                                     nested: bool) -> None:
    folder = tmp_path / "sent" / "mallory"
    shutil.copytree(SAMPLE_CLASS / "katherine_johnson", folder)
    (folder / "passwd").symlink_to("/etc/passwd")
    (folder / "linked_dir").symlink_to("/etc")
    os.mkfifo(folder / "pipe")
    if oversized:  # sparse: no disk used, but past the folder limit
        with open(folder / "weights.bin", "wb") as stream:
            stream.truncate(submission.MAX_FOLDER_BYTES + 1)
    if nested:  # past the depth limit: refused here and on the worker alike
        nested = folder
        for _ in range(600):  # one level at a time: mkdir(parents=True) recurses too
            nested = nested / "d"
            nested.mkdir()
    entries = cluster.pack(folder)
    assert sum(len(e.content) for e in entries) <= submission.MAX_FOLDER_BYTES
    assert not [e for e in entries if e.kind != "file" and e.content]
    received = tmp_path / "received"
    cluster.unpack(entries, received)
    original = _staged("mallory", folder, tmp_path / "stage_a")
    shipped = _staged("mallory", received / "mallory", tmp_path / "stage_b")
    assert shipped == original
    if nested:
        assert "nested more than" in original[1]
    elif oversized:
        assert "larger than" in original[1]
    else:
        assert any("symbolic link" in note for note in original[0])
        assert any("not a regular file" in note for note in original[0])


def test_an_entry_outside_the_submission_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="leaves the submission folder"):
        cluster.unpack([cluster.Entry("../escape.py", "file", b"x = 1\n", 6)],
                       tmp_path / "received")
    assert not (tmp_path / "escape.py").exists()


def test_a_bad_local_cluster_size_is_refused(small_class: Path, tmp_path: Path) -> None:
    done = _grade(str(small_class), "--out", str(tmp_path / "o"), "--cluster", "local:0",
                  timeout=120)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "--cluster local:0: give local:N with N at least 1" in done.stderr


@pytest.fixture(scope="module")
def one_worker() -> distributed.Client:
    """A cluster of one worker process that is not retried on another after it dies."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None,
                                  scheduler_kwargs={"allowed_failures": 0}) as local, \
            distributed.Client(local) as client:
        yield client


def test_a_worker_with_another_kit_is_named_before_grading(one_worker: distributed.Client,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    worker = next(iter(one_worker.nthreads()))
    assert cluster.check_workers(one_worker, True, lambda _: None)[worker].kit == \
        cluster.kit_digest()
    monkeypatch.setattr(cluster, "kit_digest", lambda: "0" * 64)  # this client's kit changed
    with pytest.raises(GraderProblem, match=f"worker {worker} runs a different version"):
        cluster.check_workers(one_worker, False, lambda _: None)


def _failed_row(out: Path, student: str) -> str:
    document = reports.read_results(out / student)
    assert document["score"] == 0 and document["tests"] == []
    assert document["extra_data"]["error"].startswith("The grader failed on this submission")
    return document["extra_data"]["error"]


def test_a_task_that_dies_is_the_students_row(one_worker: distributed.Client,
                                              tmp_path: Path) -> None:
    config = config_module.load()
    job = batch.Job("ada_lovelace", SAMPLE_CLASS / "ada_lovelace.py", "")
    # The worker process dies in the middle of the task, as when its machine is lost.
    lost = one_worker.submit(os._exit, 1, pure=False)
    distributed.wait(lost)
    job.started = time.monotonic()
    cluster._settle(lost, job, tmp_path, config, "bubblewrap")
    assert "the cluster task failed: KilledWorker" in _failed_row(tmp_path, "ada_lovelace")

    # A worker that joined after the check, with another kit: its task refuses to grade.
    logged: list[str] = []
    template = cluster.Task(name="", entry="", files=[], config_name=config.path.name,
                            config_text=config.path.read_text(),
                            suite="assignments/regularization/tests/public", seed=1,
                            fingerprint="", kit="0" * 64, require_sandbox=False)
    cluster._run_tasks(one_worker, [batch.Job("barbara_liskov",
                                              SAMPLE_CLASS / "barbara_liskov.py", "")],
                       template, one_worker.scatter(b""), tmp_path, config, "bubblewrap", 1,
                       logged.append)
    assert "runs a different version of the kit" in _failed_row(tmp_path, "barbara_liskov")
    assert len(logged) == 1 and logged[0].startswith("[1/1] barbara_liskov: 0/100 (")


# --- the grading host that forks a cluster worker's grading processes -----------------------

SLEEPER = "import time\n\ntime.sleep(600)  # never returns: staging waits on the import\n"


def _task(tmp_path: Path, student: Path) -> GradingTask:
    """``student`` graded with the public suite, its reports under ``tmp_path / "out"``."""
    return batch.grading_task(batch.Job(student.stem, student, ""),
                              PROJECT_DIR / "assignments/regularization/tests/public",
                              tmp_path / "out", config_module.load(), 1, sandbox.isolation(),
                              None)


def _processes() -> dict[int, tuple[int, str]]:
    """Every live process's parent and name, from /proc (zombies count as gone)."""
    found = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            text = entry.read_text()
            name, fields = text[text.index("(") + 1:text.rindex(")")], text.rsplit(")")[1].split()
            if fields[0] != "Z":
                found[int(entry.parent.name)] = (int(fields[1]), name)
    return found


def _descendants(pid: int) -> set[int]:
    table, found, frontier = _processes(), set(), {pid}
    while frontier:
        frontier = {child for child, (parent, _) in table.items() if parent in frontier}
        found |= frontier
    return found


def test_a_grading_host_grades_for_its_owner_only(tmp_path: Path) -> None:
    grading_host = host.Host()
    address, key = grading_host.start()
    assert stat.S_IMODE(os.stat(Path(address).parent).st_mode) == 0o700
    with pytest.raises(multiprocessing.AuthenticationError):
        multiprocessing.connection.Client(address, family="AF_UNIX", authkey=b"x" * len(key))
    with multiprocessing.connection.Client(address, family="AF_UNIX", authkey=key) as other:
        other.send(["not", "a", "request"])
        with pytest.raises(EOFError):
            other.recv()

    # The refused connections, and the one still silent, leave the host serving its owner,
    # and the same host again.
    silent = socket.socket(socket.AF_UNIX)  # connects, then never answers the challenge
    silent.connect(address)
    task = _task(tmp_path, SAMPLE_CLASS / "barbara_liskov.py")
    codes: list[int] = []
    owner = threading.Thread(target=lambda: codes.append(
        grading_host.run(task, str(tmp_path / "stderr.log"), 120.0)), daemon=True)
    owner.start()
    owner.join(60)
    silent.close()
    assert codes == [0], "the owner's grading waited behind a connection that never spoke"
    assert grading_host.start() == (address, key)
    document = reports.read_results(task.out)
    assert document["score"] == 0 and "has a syntax error on line 11" in \
        document["extra_data"]["error"]


def test_a_grading_past_its_limit_is_killed(tmp_path: Path) -> None:
    sleeper = tmp_path / "sleeper.py"
    sleeper.write_text(SLEEPER)
    started = time.monotonic()
    code = host.Host().run(_task(tmp_path, sleeper), str(tmp_path / "stderr.log"), 3.0)
    assert code == -signal.SIGKILL
    assert time.monotonic() - started < 15


OWNER = """
import sys, threading, time
from pathlib import Path
from autograder import config
from autograder.grading import batch, host
from autograder.paths import PROJECT_DIR
from autograder.sandbox import launch

scratch = Path(sys.argv[1])
job = batch.Job("sleeper", scratch / "sleeper.py", "")
task = batch.grading_task(job, PROJECT_DIR / "assignments/regularization/tests/public",
                          scratch / "out", config.load(), 1, launch.isolation(), None)
threading.Thread(target=host.Host().run, args=(task, str(scratch / "stderr.log"), 600.0),
                 daemon=True).start()
time.sleep(600)
"""


def test_a_grading_host_leaves_with_its_owner_and_kills_its_grading(tmp_path: Path) -> None:
    (tmp_path / "sleeper.py").write_text(SLEEPER)
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(tmp_path)], cwd=PROJECT_DIR)
    try:
        deadline, started = time.monotonic() + 120, set()
        while time.monotonic() < deadline and "bwrap" not in {
                name for pid, (_, name) in _processes().items() if pid in started}:
            started = _descendants(owner.pid)  # the host, its fork server, a grading, ...
            time.sleep(0.1)
        assert len(started) >= 4, "the owner's host never started the student's worker"
    finally:
        owner.kill()  # as when a Dask worker process dies: no chance to clean up
        owner.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and started & set(_processes()):
        time.sleep(0.1)
    assert not started & set(_processes()), "a process of the host outlived its owner"


def test_a_grading_host_without_its_key_refuses_to_start() -> None:
    done = subprocess.run([sys.executable, "-m", "autograder.grading.host"], input=b"short",
                          capture_output=True, cwd=PROJECT_DIR, timeout=60, check=False)
    assert done.returncode == 2 and done.stdout == b""
    assert b"needs its key on standard input" in done.stderr

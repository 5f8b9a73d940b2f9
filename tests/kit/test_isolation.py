"""Student code cannot harm the grading machine or earn points it did not earn.

Small hostile submissions are generated into ``tmp_path``, staged with
:func:`autograder.grading.submission.stage` and called through
:class:`autograder.sandbox.proxy.StudentProxy` inside bubblewrap, with a fast copy of
grader_config (short time limits, a 1 GiB address space). Each one checks one promise of
the sandbox: no network, no view of the reference, the hidden tests, grader_config or
other students, no writes outside, no surviving process, time, memory and process
limits, recovery after crashes, and plain data only on the trusted side. The corpus's
``hostile`` folder (plus honest twins of the tampering submissions) is then graded once
with ``autograder grade --jobs 2`` to check the reports themselves.

Every snippet bounds itself (loops end, allocations are capped, children sleep for a
limited time), so a broken sandbox cannot take the machine down. These tests require
bubblewrap and fail, not skip, without it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assignments.regularization.assignment import HIDDEN_SUITE
from assignments.regularization.assignment import REFERENCE as REFERENCE_FILE
from autograder import config
from autograder.assignment import load as load_assignment
from autograder.grading import checks, submission, validate
from autograder.paths import DEFAULT_CONFIG, PROJECT_DIR
from autograder.sandbox import launch as sandbox
from autograder.sandbox.errors import Failure, StudentCrashed, StudentRaised, StudentTimeout
from autograder.sandbox.protocol import Unsupported
from autograder.sandbox.proxy import StudentProxy

ASSIGNMENT = load_assignment("regularization")

if not sandbox.bubblewrap_works():
    pytest.fail("bubblewrap (bwrap) is missing or cannot create namespaces here; the "
                "isolation tests need it. Install the 'bubblewrap' package (as .ci/run does) "
                "and make sure unprivileged user namespaces are allowed.", pytrace=False)

HOSTILE = PROJECT_DIR / "tests" / "kit" / "corpus" / "hostile"
SLOT = 7                      # a grading slot no batch of these tests uses
CALL_TIMEOUT_S = 2.0
KILL_GRACE_S = 1.0
MEMORY_LIMIT_MB = 1024
MAX_PROCESSES = 32
# Sandbox uids of this session only, so that other grading runs on the machine are not
# mistaken for survivors (and never touched).
UID_BASE = 62000 + (os.getpid() % 500) * 8  # room for 2 slots x 2 workers
CONTRACT = textwrap.dedent('''
    import numpy as np


    def l2_regularization(weights, lambda_):
        return float(lambda_ * sum(np.sum(W ** 2) for W in weights)), [2 * lambda_ * W
                                                                       for W in weights]


    def dropout(A, p, training=True, rng=None):
        return A, None


    def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
                  keep_prob=1.0, rng=None):
        return params, {"loss": [0.0] * epochs}
''')


def _fast_config_text() -> str:
    text = DEFAULT_CONFIG.read_text()
    settings = {"CALL_TIMEOUT_S": CALL_TIMEOUT_S, "KILL_GRACE_S": KILL_GRACE_S,
                "SUBMISSION_TIMEOUT_S": 120.0, "MEMORY_LIMIT_MB": MEMORY_LIMIT_MB,
                "MAX_PROCESSES": MAX_PROCESSES, "SANDBOX_UID_BASE": UID_BASE}
    return text + "\n" + "\n".join(f"{k} = {v!r}" for k, v in settings.items()) + "\n"


@pytest.fixture(scope="session")
def fast_config(tmp_path_factory: pytest.TempPathFactory) -> config.Config:
    """grader_config with short time limits and 1 GiB of address space."""
    path = tmp_path_factory.mktemp("config") / "grader_config.py"
    path.write_text(_fast_config_text())
    loaded = config.load(path)
    assert loaded.CALL_TIMEOUT_S == CALL_TIMEOUT_S
    return loaded


@pytest.fixture
def make_student(tmp_path: Path, fast_config: config.Config) -> Iterator:
    """Stage ``source`` (the contract's functions, overridden by the snippet) and proxy it."""
    proxies: list[StudentProxy] = []

    def make(snippet: str) -> StudentProxy:
        folder = tmp_path / f"student{len(proxies)}"
        folder.mkdir()
        path = folder / "regularization.py"
        path.write_text(CONTRACT + "\n" + textwrap.dedent(snippet))
        staged = submission.stage("probe", path, tmp_path / f"work{len(proxies)}", ASSIGNMENT)
        proxy = StudentProxy(staged.stage, fast_config, slot=SLOT, mode=sandbox.BUBBLEWRAP)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


def _processes(marker: str | None = None, uid: int | None = None) -> list[int]:
    """Live pids whose command line holds ``marker`` or whose real uid is ``uid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            by_marker = marker is not None and marker.encode() in (entry / "cmdline").read_bytes()
            if by_marker or (uid is not None and entry.stat().st_uid == uid):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _wait_gone(marker: str | None = None, uid: int | None = None, seconds: float = 5) -> list:
    """Wait for the matching processes to end; kill them if they do not (they are ours:
    the markers are unique to this session and so are the sandbox uids)."""
    deadline = time.monotonic() + seconds
    while (left := _processes(marker, uid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:  # never leave anything behind, even when the test fails
        with contextlib.suppress(OSError):
            os.kill(pid, 9)
    return left


def _sandbox_uid(slot: int = SLOT, substitute: bool = False) -> int | None:
    """The uid a worker of ``slot`` runs as, when the grader is root (else its own uid)."""
    return UID_BASE + 2 * slot + int(substitute) if os.geteuid() == 0 else None


def _weights() -> list[np.ndarray]:
    return [np.ones((2, 2))]


# --- (a) network ---------------------------------------------------------------------------

def test_no_network(make_student) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    arrived: list = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                arrived.append(server.accept()[1])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    student = make_student(f'''
        import socket
        def l2_regularization(weights, lambda_):
            tried = {{}}
            for host in ("127.0.0.1", "localhost", "1.1.1.1", "::1"):
                try:
                    socket.create_connection((host, {port}), timeout=1).close()
                    tried[host] = "connected"
                except OSError as error:
                    tried[host] = type(error).__name__
            tried["interfaces"] = [name for _, name in socket.if_nameindex()]
            return tried
    ''')
    try:
        tried = student.l2_regularization(_weights(), 0.1)
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
    assert arrived == [], f"a connection reached the host listener: {arrived}"
    assert "connected" not in tried.values(), tried
    assert tried["interfaces"] == ["lo"], tried


# --- (b) reading files the worker must not see ---------------------------------------------

def test_secret_files_are_not_visible(make_student, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "class" / "other_student.py"
    other.parent.mkdir()
    other.write_text("OTHER_STUDENT_SECRET = 1\n")
    monkeypatch.setenv("ISOLATION_SECRET_TOKEN", "isolation-secret-value")
    paths = [REFERENCE_FILE, DEFAULT_CONFIG, other, *sorted(HIDDEN_SUITE.glob("*.py")),
             PROJECT_DIR / "autograder" / "grading.py", Path.home() / ".bash_history",
             Path("/etc/shadow")]
    student = make_student(f'''
        import os
        def l2_regularization(weights, lambda_):
            found = {{}}
            for path in {[str(p) for p in paths]!r}:
                try:
                    with open(path, "rb") as handle:
                        found[path] = handle.read(200).decode("latin-1")
                except OSError:
                    pass
            for folder in {[str(PROJECT_DIR), str(HIDDEN_SUITE), str(other.parent)]!r}:
                if os.path.exists(folder):
                    found[folder] = "exists"
            found["env"] = [k for k in os.environ if "SECRET" in k]
            return found
    ''')
    found = student.l2_regularization(_weights(), 0.1)
    assert found == {"env": []}, f"visible inside the worker: {sorted(found)}"


# --- (c) writes outside the sandbox --------------------------------------------------------

def test_writes_do_not_reach_the_host(make_student) -> None:
    name = f"isolation-probe-{uuid.uuid4().hex}"
    targets = [PROJECT_DIR / name, Path("/tmp") / name, Path.home() / name,
               HOSTILE / name]
    student = make_student(f'''
        import os
        def l2_regularization(weights, lambda_):
            written = []
            for path in {[str(t) for t in targets]!r} + [os.path.expanduser("~/{name}"),
                                                         os.path.abspath("{name}")]:
                try:
                    with open(path, "w") as handle:
                        handle.write("written by a submission")
                    written.append(path)
                except OSError:
                    pass
            return written
    ''')
    try:
        written = student.l2_regularization(_weights(), 0.1)
        student.close()
        assert [t for t in targets if t.exists()] == []
        assert set(written) <= {f"/tmp/{name}"}, f"writes succeeded: {written}"
    finally:
        for target in targets:
            target.unlink(missing_ok=True)


# --- (d) no surviving process --------------------------------------------------------------

def test_no_process_survives(make_student) -> None:
    marker = f"isolation-marker-{uuid.uuid4().hex}"
    student = make_student(f'''
        import os, subprocess, sys
        def l2_regularization(weights, lambda_):
            subprocess.Popen(["/bin/sh", "-c", "sleep 60; : {marker}"],
                             start_new_session=True)
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                              "{marker}"])
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execv(sys.executable, [sys.executable, "-c",
                                              "import time; time.sleep(60)", "{marker}"])
                os._exit(0)
            return "started"
    ''')
    assert student.l2_regularization(_weights(), 0.1) == "started"
    time.sleep(0.5)
    assert _processes(marker), "the snippet's processes did not start; the test proves nothing"
    student.close()
    assert _wait_gone(marker) == [], "processes with the marker survived the worker"
    uid = _sandbox_uid()
    if uid is not None:
        assert _wait_gone(uid=uid) == [], f"processes of sandbox uid {uid} survived"


# --- (e) time limits -----------------------------------------------------------------------

@pytest.mark.parametrize("ignore_sigterm", [False, True], ids=["loop", "loop_ignoring_sigterm"])
def test_endless_loop_is_stopped_in_time(make_student, ignore_sigterm: bool) -> None:
    student = make_student(f'''
        import signal, time
        def l2_regularization(weights, lambda_):
            if {ignore_sigterm}:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            end = time.monotonic() + 60
            while time.monotonic() < end:
                pass
            return "finished"
    ''')
    student.load_report()
    started = time.monotonic()
    with pytest.raises(StudentTimeout) as error:
        student.l2_regularization(_weights(), 0.1)
    elapsed = time.monotonic() - started
    assert elapsed < CALL_TIMEOUT_S + KILL_GRACE_S + 3, f"stopped after {elapsed:.1f} s"
    assert "did not finish within 2 s" in error.value.student_message()
    assert student.dropout(np.ones(3), 0.5) is not None, "the next call needs a new worker"


# --- (f) memory ----------------------------------------------------------------------------

def test_memory_limit_gives_memory_error(make_student) -> None:
    student = make_student('''
        import numpy as np
        def l2_regularization(weights, lambda_):
            taken = []
            for _ in range(24):  # 24 x 64 MB touched: at most 1.5 GB if the limit failed
                taken.append(np.ones(64 * 2**20 // 8))
            return len(taken)

        def dropout(A, p, training=True, rng=None):
            return np.empty(2**31, dtype=np.uint8).size  # 2 GiB, never touched
    ''')
    for function in ("l2_regularization", "dropout"):
        with pytest.raises(StudentRaised) as error:
            student.call(function, (_weights(), 0.1), timeout=30)
        assert error.value.type_name == "MemoryError"
        assert "MemoryError" in error.value.student_message()
    assert student.train_mlp({}, None, None, epochs=1)[1] == {"loss": [0.0]}


# --- (g) processes -------------------------------------------------------------------------

def test_fork_bomb_is_contained(make_student) -> None:
    marker = f"isolation-forks-{uuid.uuid4().hex}"
    student = make_student(f'''
        import os
        def l2_regularization(weights, lambda_):
            started = 0
            for _ in range(300):
                try:
                    pid = os.fork()
                except OSError:
                    break
                if pid == 0:
                    try:
                        os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 30; : {marker}"])
                    finally:
                        os._exit(0)
                started += 1
            return started
    ''')
    started = student.l2_regularization(_weights(), 0.1)
    assert started < MAX_PROCESSES, f"{started} processes started despite the limit"
    student.close()
    assert _wait_gone(marker) == [], "fork bomb children survived"


# --- (h) crash recovery --------------------------------------------------------------------

def test_crashes_cost_only_their_call(make_student) -> None:
    student = make_student('''
        import ctypes, os, sys
        def l2_regularization(weights, lambda_):
            if weights == "os_exit":
                os._exit(3)
            if weights == "segfault":
                ctypes.string_at(0)
            if weights == "sys_exit":
                sys.exit(4)
            return "alive"
    ''')
    expected = {"os_exit": "exited with status 3", "segfault": "segmentation fault"}
    for crash, reason in expected.items():
        with pytest.raises(StudentCrashed) as error:
            student.l2_regularization(crash, 0.1)
        assert reason in error.value.student_message()
        assert student.l2_regularization("ok", 0.1) == "alive"
    with pytest.raises(StudentRaised) as raised:
        student.l2_regularization("sys_exit", 0.1)
    assert raised.value.type_name == "SystemExit"
    assert student.l2_regularization("ok", 0.1) == "alive"


def test_crash_at_import_is_reported_once(make_student) -> None:
    student = make_student('''
        import sys
        sys.exit(0)
    ''')
    for _ in range(2):
        with pytest.raises((StudentRaised, StudentCrashed)) as error:
            student.dropout(np.ones(2), 0.5)
        assert "exit" in error.value.student_message().lower()


# --- (i) lying results ---------------------------------------------------------------------

def test_lying_results_reach_the_grader_as_plain_data(make_student) -> None:
    student = make_student('''
        import numpy as np

        class AlwaysEqual(float):
            def __eq__(self, other):
                return True
            __hash__ = float.__hash__

        class Liar:
            def __eq__(self, other):
                return True

        class LyingArray(np.ndarray):
            def __eq__(self, other):
                return np.ones(np.shape(self), dtype=bool)

        def l2_regularization(weights, lambda_):
            return AlwaysEqual(-1.0), [Liar() for _ in weights]

        def dropout(A, p, training=True, rng=None):
            return np.full(A.shape, 42.0).view(LyingArray), np.array([object()])
    ''')
    penalty, grads = student.l2_regularization(_weights(), 0.1)
    assert isinstance(penalty, Unsupported) and isinstance(grads[0], Unsupported)
    with pytest.raises(Failure, match="Python float"):
        validate.python_float(penalty, "the penalty")
    with pytest.raises(Failure, match="numpy array"):
        validate.array(grads[0], "the gradient")
    output, mask = student.dropout(np.ones((2, 3)), 0.5)
    assert type(output) is np.ndarray
    assert isinstance(mask, Unsupported)
    plain = validate.array(output, "the output", shape=(2, 3))
    with pytest.raises(Failure):
        checks.close(plain, np.ones((2, 3)), "the output")


# --- (j), (k): the hostile corpus graded as a batch ----------------------------------------

TWINS = {
    # Honest twins: the same answers as a tampering submission, without the tampering.
    "twin_monkeypatch_checkers": '''
        def l2_regularization(weights, lambda_):
            return 1234.5, [np.zeros_like(W) + 7 for W in weights]

        def dropout(A, p, training=True, rng=None):
            return np.zeros_like(A) + 3, np.zeros_like(A) + 3

        def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
                      keep_prob=1.0, rng=None):
            return {k: np.zeros_like(v) for k, v in params.items()}, {"loss": [0.0] * epochs}
    ''',
    "twin_fake_results_output": '''
        def l2_regularization(weights, lambda_):
            return 999.0, [W * 0 for W in weights]

        def dropout(A, p, training=True, rng=None):
            return A * 0, A * 0

        def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
                      keep_prob=1.0, rng=None):
            return {k: v * 0 for k, v in params.items()}, {"loss": [0.0] * epochs}
    ''',
    "twin_lying_objects": '''
        def l2_regularization(weights, lambda_):
            return -1.0, [np.zeros(1) for _ in weights]

        def dropout(A, p, training=True, rng=None):
            return np.full(A.shape, 42.0), np.zeros(1)

        def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
                      keep_prob=1.0, rng=None):
            return ({k: np.full(v.shape, 42.0) for k, v in params.items()},
                    {"loss": [0.0] * epochs})
    ''',
}


@pytest.fixture(scope="session")
def hostile_batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Grade the hostile corpus plus honest twins once, public suite, fast config, 2 jobs."""
    base = tmp_path_factory.mktemp("hostile")
    folder, out = base / "submissions", base / "out"
    shutil.copytree(HOSTILE, folder)
    for name, body in TWINS.items():
        (folder / f"{name}.py").write_text("import numpy as np\n" + textwrap.dedent(body))
    config_path = base / "grader_config.py"
    config_path.write_text(_fast_config_text().replace(
        f"CALL_TIMEOUT_S = {CALL_TIMEOUT_S!r}", "CALL_TIMEOUT_S = 3.0"))
    before = set(os.listdir("/tmp"))
    project_before = _tree_state(PROJECT_DIR)
    command = [sys.executable, "-m", "autograder", "--config", str(config_path), "grade",
               str(folder), "--out", str(out), "--jobs", "2", "--suite", "public",
               "--require-sandbox"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False,
                          cwd=base)
    survivors: list[int] = []
    if os.geteuid() == 0:  # every process the submissions started ran as these uids
        survivors = [pid for slot in range(2) for substitute in (False, True)
                     for pid in _wait_gone(uid=_sandbox_uid(slot, substitute))]
    else:  # without root, the corpus's own markers are what identifies them
        deadline = time.monotonic() + 5
        while (survivors := _processes("corpus-daemon-marker")
               + _processes("corpus-forkbomb-marker")) and time.monotonic() < deadline:
            time.sleep(0.2)
    return {"done": done, "out": out, "folder": folder, "survivors": survivors,
            "new_tmp": sorted(set(os.listdir("/tmp")) - before - {base.name}),
            "project_changed": _tree_state(PROJECT_DIR) != project_before}


def _tree_state(root: Path) -> dict:
    state = {}
    for path in root.rglob("*"):
        if ".git" in path.parts or "__pycache__" in path.parts or path.is_dir():
            continue
        with contextlib.suppress(OSError):
            stat = path.lstat()
            state[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return state


def _scores(batch: dict) -> dict[str, dict]:
    out: Path = batch["out"]
    return {p.name: json.loads((p / "results.json").read_text())
            for p in out.iterdir() if (p / "results.json").is_file()}


def test_hostile_batch_finishes_with_a_row_each(hostile_batch: dict) -> None:
    done = hostile_batch["done"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert "isolation: bubblewrap" in done.stderr
    rows = (hostile_batch["out"] / "gradebook.csv").read_text().splitlines()
    survey = submission.survey(hostile_batch["folder"], ASSIGNMENT)
    expected = {name for name, _ in survey.submissions}
    assert {row.split(",")[0] for row in rows[1:]} == expected
    for entry, reason in survey.skipped:  # every other entry is listed with its reason
        assert f"not graded: {entry!r}: {reason}" in done.stderr
    assert all(",bubblewrap; seccomp; cgroup " in row for row in rows[1:])


def test_hostile_batch_leaves_no_trace(hostile_batch: dict) -> None:
    assert hostile_batch["survivors"] == [], "processes started by submissions survived"
    assert hostile_batch["new_tmp"] == [], "files appeared in the machine's /tmp"
    assert not hostile_batch["project_changed"], "the project checkout changed"
    for home in {Path.home(), Path("/root")}:
        assert not (home / "pwned_by_student").exists()


def test_reports_stay_small_after_an_output_flood(hostile_batch: dict) -> None:
    for student in hostile_batch["out"].iterdir():
        for name in ("feedback.md", "results.json"):
            path = student / name
            if path.is_file():
                assert path.stat().st_size < 1024 * 1024, f"{path} is over 1 MB"
    feedback = (hostile_batch["out"] / "fake_results_output" / "feedback.md").read_text()
    assert re.search(r"\[\.\.\. \d+ more", feedback), "truncated output must say so"


def _secret_lines() -> set[str]:
    lines = set()
    for path in [REFERENCE_FILE, *sorted(HIDDEN_SUITE.glob("*.py"))]:
        lines |= {line.strip() for line in path.read_text().splitlines()
                  if len(line.strip()) >= 25}
    return lines


def test_no_reference_or_hidden_test_line_in_any_report(hostile_batch: dict) -> None:
    own = set()  # a line the submission itself contains is the student's own text
    for path in hostile_batch["folder"].glob("*.py"):
        own |= {line.strip() for line in path.read_text().splitlines()}
    secrets = _secret_lines() - own
    assert secrets, "no reference or hidden-suite lines to look for"
    for student in hostile_batch["out"].iterdir():
        for name in ("feedback.md", "results.json"):
            path = student / name
            if path.is_file():
                text = path.read_text(errors="replace")
                leaked = [line for line in secrets if line in text]
                assert leaked == [], f"{path} quotes: {leaked[:3]}"


def test_tampering_earns_nothing(hostile_batch: dict) -> None:
    results = _scores(hostile_batch)
    assert results["control_correct"]["score"] == 100
    for tamperer in ("monkeypatch_checkers", "fake_results_output", "lying_objects"):
        mine = results[tamperer]["extra_data"]["per_function"]
        twin = results[f"twin_{tamperer}"]["extra_data"]["per_function"]
        for function, points in mine.items():
            assert points <= twin[function] + 1e-9, f"{tamperer} earned more in {function}"
    fake = results["fake_results_output"]
    assert fake["score"] == results["twin_fake_results_output"]["score"]
    assert len(fake["tests"]) == len(results["control_correct"]["tests"])


def test_two_commands_on_one_machine_never_hold_the_same_grading_slot() -> None:
    """As root a slot's workers run as uids of their own, whose process limit a submission
    can fill; a second batch (or ``autograder check``) once used slot 0 too, so an honest
    student there could not start a worker. Slots are now held machine-wide."""
    from autograder.sandbox import slots

    program = ("import sys; from autograder.sandbox import slots\n"
               "with slots.claimed(2) as held: print(held)")
    with slots.claimed(2) as first:
        other = subprocess.run([sys.executable, "-c", program], cwd=PROJECT_DIR,
                               capture_output=True, text=True, check=True).stdout.strip()
        with slots.claimed(1) as second:
            pass
    with slots.claimed(2) as again:
        pass
    if os.geteuid() == 0:
        assert (first, other, second, again) == ([0, 1], "[2, 3]", [2], [0, 1])
    else:  # the workers keep the grader's uid: no slot owns anything
        assert (first, other, second, again) == ([0, 1], "[0, 1]", [0], [0, 1])

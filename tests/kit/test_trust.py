"""The sandbox's kernel surface, the worker's messages, names and files, and what reaches feedback.

Each test checks one mechanism with a small submission generated into ``tmp_path`` and
graded through :class:`autograder.sandbox.proxy.StudentProxy` in bubblewrap (or with the real
command line): the seccomp filter and fresh keyrings, the memory cgroup (measured against
the host's own memory counters), the minimal read-only view, the trust boundary for
replies, safe names and files, and feedback that carries nothing secret and cannot be
forged. These tests need bubblewrap, libseccomp (``pyseccomp``) and a writable memory
cgroup; they fail, not skip, without them.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import struct
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import mistune
import numpy as np
import pytest

from assignments.regularization.assignment import HIDDEN_SUITE, PUBLIC_SUITE, REFERENCE
from assignments.regularization.grader import data
from autograder import config
from autograder.assignment import load as load_assignment
from autograder.environment import ONE_BLAS_THREAD
from autograder.grading import notebook, submission, validate
from autograder.grading.grade import GradeResult, grade
from autograder.grading.pytest_plugin import Outcome
from autograder.grading.scoring import ScoredTest
from autograder.paths import DEFAULT_CONFIG, PROJECT_DIR
from autograder.reports import documents as reports
from autograder.sandbox import cgroup, protocol, seccomp_filter
from autograder.sandbox import launch as sandbox
from autograder.sandbox.errors import (
    Failure,
    StudentCodeProblem,
    StudentCrashed,
    StudentUnsendable,
)
from autograder.sandbox.proxy import StudentProxy

ASSIGNMENT = load_assignment("regularization")
RELEASED = notebook.released_cells(ASSIGNMENT.notebook)

_available, _why = seccomp_filter.available()
if not _available or not sandbox.bubblewrap_works():
    pytest.fail(f"bubblewrap with its seccomp filter is needed here ({_why or 'bwrap'}); run "
                "scripts/setup.sh (it installs bubblewrap, libseccomp2 and pyseccomp).",
                pytrace=False)

SLOT = 6
MEMORY_LIMIT_MB = 512
MARGIN_MB = 64      # page tables, kernel stacks and sockets charged beside the limit
UID_BASE = 63000 + (os.getpid() % 400) * 8
CONTRACT = textwrap.dedent('''
    import numpy as np


    def l2_regularization(weights, lambda_):
        return float(lambda_ * sum(np.sum(W ** 2) for W in weights)), [2 * lambda_ * W
                                                                       for W in weights]


    def dropout(A, p, training=True, rng=None):
        if not training:
            return A, None
        mask = ((rng.random(A.shape) < p) / p).astype(A.dtype)
        return A * mask, mask


    def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
                  keep_prob=1.0, rng=None):
        return params, {"loss": [0.0] * epochs}
''')


@pytest.fixture(scope="session")
def trust_config(tmp_path_factory: pytest.TempPathFactory) -> config.Config:
    """grader_config with short limits and a 512 MiB memory limit."""
    path = tmp_path_factory.mktemp("config") / "grader_config.py"
    settings = {"CALL_TIMEOUT_S": 5.0, "KILL_GRACE_S": 1.0, "SUBMISSION_TIMEOUT_S": 120.0,
                "MEMORY_LIMIT_MB": MEMORY_LIMIT_MB, "SANDBOX_UID_BASE": UID_BASE}
    path.write_text(DEFAULT_CONFIG.read_text() + "\n"
                    + "\n".join(f"{k} = {v!r}" for k, v in settings.items()) + "\n")
    return config.load(path)


@pytest.fixture
def make_student(tmp_path: Path, trust_config: config.Config) -> Iterator:
    """Stage the contract's functions plus ``snippet`` and return its proxy."""
    proxies: list[StudentProxy] = []

    def make(snippet: str, contract: str = CONTRACT) -> StudentProxy:
        folder = tmp_path / f"student{len(proxies)}"
        folder.mkdir()
        (folder / "regularization.py").write_text(contract + "\n" + textwrap.dedent(snippet))
        staged = submission.stage("probe", folder / "regularization.py",
                                  tmp_path / f"work{len(proxies)}", ASSIGNMENT)
        proxy = StudentProxy(staged.stage, trust_config, slot=SLOT, mode=sandbox.BUBBLEWRAP)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


def _loaded_output(proxy: StudentProxy) -> str:
    proxy.load_report()
    time.sleep(0.2)  # raw output is drained by a thread
    return proxy.output.text()


# --- seccomp and keyrings ----------------------------------------------------------------------

SYSCALL_PROBE = '''
import ctypes, os
_libc = ctypes.CDLL(None, use_errno=True)
def _try(name, number, *args):
    result = _libc.syscall(number, *args)
    print(f"{name}={result}/{ctypes.get_errno()}")
    if result == 0 and name in ("clone", "unshare"):
        os._exit(0)
_try("add_key", 248, b"user", b"probe", b"data", 4, -3)
_try("keyctl", 250, 0, -3, 0)
_try("request_key", 249, b"user", b"probe", None, 0)
_try("io_uring_setup", 425, 4, ctypes.create_string_buffer(120))
_try("unshare", 272, 0x10000000)
_try("clone", 56, 0x10000000 | 17, 0, 0, 0, 0)
_try("ptrace", 101, 0, 0, 0, 0)
_try("mount", 165, b"none", b"/tmp", b"tmpfs", 0, None)
_try("bpf", 321, 0, None, 0)
_try("perf_event_open", 298, None, 0, -1, -1, 0)
'''


def test_seccomp_refuses_keyrings_namespaces_io_uring_and_tracing(make_student) -> None:
    output = _loaded_output(make_student(SYSCALL_PROBE))
    results = dict(re.findall(r"^(\w+)=(-?\d+/\d+)$", output, re.MULTILINE))
    assert set(results) == {"add_key", "keyctl", "request_key", "io_uring_setup", "unshare",
                            "clone", "ptrace", "mount", "bpf", "perf_event_open"}, output
    refused = f"-1/{1}"  # EPERM
    assert {name: value for name, value in results.items() if value != refused} == {}


def test_the_grader_session_keyring_is_out_of_reach(make_student) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    secret = b"grader-keyring-secret"
    key = libc.syscall(248, b"user", b"regkit-grader", secret, len(secret), -3)
    assert key > 0, f"the test could not add a key to its session keyring ({ctypes.get_errno()})"
    try:
        output = _loaded_output(make_student(f'''
            import ctypes
            _buffer = ctypes.create_string_buffer(200)
            _libc = ctypes.CDLL(None, use_errno=True)
            print("read", _libc.syscall(250, 11, {key}, _buffer, 200),
                  _buffer.raw.rstrip(b"\\0"))
        '''))
    finally:
        libc.syscall(250, 3, key)  # KEYCTL_REVOKE
    assert "read -1 b''" in output, output
    assert secret.decode() not in output


def test_each_worker_joins_a_fresh_session_keyring() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    own = libc.syscall(250, 0, -3, 0)  # KEYCTL_GET_KEYRING_ID of our session keyring
    probe = "import ctypes; print(ctypes.CDLL(None).syscall(250, 0, -3, 0))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          preexec_fn=lambda: sandbox._join_fresh_keyring(libc), check=True)
    assert int(done.stdout) > 0 and int(done.stdout) != own


def test_a_worker_without_bubblewrap_runs_under_the_filter_too() -> None:
    limits = sandbox.Limits(2**31, 60, 64, 2**24)
    probe = ("import ctypes; libc = ctypes.CDLL(None, use_errno=True)\n"
             "for number, args in ((250, (0, -3, 0)), (272, (0x10000000,)), (425, (4, None))):\n"
             "    print(libc.syscall(number, *args), ctypes.get_errno())")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          preexec_fn=sandbox.limits_preexec(limits, sandbox.PROCESS),
                          check=True)
    assert done.stdout.split() == ["-1", "1"] * 3, done.stdout
    assert "seccomp" in sandbox.describe(sandbox.PROCESS, cgroup.probe())


# --- memory cgroup -----------------------------------------------------------------------------

def _host_memory_used_mb() -> float:
    info = {line.split(":")[0]: int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()}
    return (info["MemTotal"] - info["MemAvailable"]) / 1024


MEMFD_FLOOD = '''
import os
_held = []
for _ in range(120):  # 120 x 16 MiB of memfd pages: outside any address-space limit
    _fd = os.memfd_create("hold")
    _chunk = b"x" * (1 << 20)
    for _ in range(16):
        os.write(_fd, _chunk)
    _held.append(_fd)
print("HELD", len(_held) * 16, "MiB")
'''


def test_memory_group_bounds_what_the_workers_hold(make_student) -> None:
    layout = cgroup.probe()
    assert layout.version, f"no memory cgroup can be made here: {layout.reason}"
    student = make_student(MEMFD_FLOOD)
    assert student.group is not None
    baseline, peak = _host_memory_used_mb(), [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _host_memory_used_mb() - baseline)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with pytest.raises(StudentCrashed, match="memory"):
            student.load_report()
    finally:
        stop.set()
        sampler.join()
    group_peak_mb = student.group.peak_bytes() / 2**20
    print(f"memory held: group peak {group_peak_mb:.0f} MiB, host peak {peak[0]:.0f} MiB, "
          f"limit {MEMORY_LIMIT_MB} MiB")
    assert "HELD" not in student.output.text()
    assert group_peak_mb <= MEMORY_LIMIT_MB + MARGIN_MB
    assert peak[0] <= MEMORY_LIMIT_MB + MARGIN_MB + 200  # + the machine's own noise
    assert "cgroup" in student.isolation


# --- minimal read-only view --------------------------------------------------------------------

VIEW_PROBE = """
import glob, os, sys
_seen = []
for _path in ("/proc/self/mountinfo", "/proc/1/cmdline", "/proc/self/cmdline"):
    with open(_path, "rb") as _f:
        _seen.append(_f.read().decode(errors="replace"))
_seen.append(" ".join(sys.path))
for _folder in sys.path:
    _seen += [open(p, errors="replace").read() for p in glob.glob(_folder + "/*.pth")]
    _seen += glob.glob(_folder + "/*")
_text = " ".join(_seen)
for _clue in CLUES:
    if _clue in _text:
        print("CLUE", _clue)
for _name in ("mlxtend", "sklearn", "autograder", "pytest", "nbformat"):
    try:
        __import__(_name)
        print("IMPORTED", _name)
    except ImportError:
        pass
print("MNIST", [hit for root in ("/sandbox", "/tmp", "/root", "/usr/share", "/etc")
                for hit in glob.glob(root + "/**/*mnist*", recursive=True)][:5])
import scipy.special, numpy
print("ALLOWED ok")
"""


def test_the_sandbox_shows_only_the_standard_library_and_allowed_packages(
        make_student) -> None:
    clues = (str(PROJECT_DIR), "/.venv", "__editable__", "pyvenv.cfg", "mlxtend")
    output = _loaded_output(make_student(f"CLUES = {clues!r}\n" + VIEW_PROBE))
    assert "ALLOWED ok" in output, output[-3000:]
    assert "IMPORTED" not in output, output[-3000:]
    assert "CLUE" not in output, output[-3000:]
    assert "MNIST []" in output, output[-3000:]


# --- the worker's messages ---------------------------------------------------------------------

def test_frame_sizes_are_refused_when_announced() -> None:
    reader = protocol.FrameReader(protocol.MAX_REPLY_BYTES)
    with pytest.raises(protocol.ProtocolError, match="header"):
        reader.feed(struct.pack("!I", 64 * 2**20) + b"{")
    reader = protocol.FrameReader(protocol.MAX_REPLY_BYTES)
    header = json.dumps({"body": {"$dict": {}}, "buffers": 1}).encode()
    with pytest.raises(protocol.ProtocolError, match="larger"):
        reader.feed(struct.pack("!I", len(header)) + header + struct.pack("!Q", 2**30))
    assert protocol.MAX_HEADER_BYTES <= 2**20
    assert protocol.MAX_REPLY_BYTES <= 64 * 2**20


def test_the_header_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = json.loads
    monkeypatch.setattr(protocol.json, "loads", lambda text: calls.append(1) or real(text))
    frame = protocol.encode({"value": np.zeros(300_000)})
    reader = protocol.FrameReader()
    replies = [reader.feed(frame[i:i + 4096]) for i in range(0, len(frame), 4096)]
    assert [r for r in replies if r is not None][0]["value"].shape == (300_000,)
    assert len(calls) == 1


def _patched_encode(condition: str, change: str) -> str:
    return f'''
        import sys
        protocol = sys.modules["__main__"].protocol  # the worker's own, as it holds it
        _encode = protocol.encode
        def _tampered(message, generators=None):
            if isinstance(message, dict) and {condition}:
                message = {{**message, {change}}}
            return _encode(message, generators)
        protocol.encode = _tampered
    '''


def test_a_reply_to_another_request_is_the_students_crash(make_student) -> None:
    student = make_student(_patched_encode('message.get("id")', '"id": message["id"] + 7'))
    with pytest.raises(StudentCrashed, match="different request"):
        student.l2_regularization([np.ones((2, 2))], 0.1)


def test_a_malformed_load_reply_is_the_students_crash(make_student) -> None:
    student = make_student(_patched_encode('"functions" in message', '"functions": "x"'))
    with pytest.raises(StudentCrashed, match="malformed"):
        student.load_report()


def test_a_bad_generator_state_is_the_students_crash(make_student) -> None:
    state = {"bit_generator": "PCG64", "state": {"state": -1, "inc": 1}, "has_uint32": 0,
             "uinteger": 0}
    student = make_student(_patched_encode('message.get("generator_states")',
                                           f'"generator_states": [{state!r}]'))
    with pytest.raises(StudentCrashed, match="generator"):
        student.dropout(np.ones((2, 2)), 0.5, True, np.random.default_rng(0))
    assert student.l2_regularization([np.ones((2, 2))], 0.1)[0] == pytest.approx(0.4)


def test_a_flood_announced_on_the_reply_pipe_is_refused_fast(make_student) -> None:
    student = make_student('''
        import os, struct, sys, time
        os.write(int(sys.argv[2]), struct.pack("!I", 64 * 1024 * 1024) + b"{" * 4096)
        time.sleep(30)
    ''')
    started = time.monotonic()
    with pytest.raises(StudentCrashed, match="could not read"):
        student.load_report()
    assert time.monotonic() - started < 5


def test_a_large_argument_crosses_once_and_in_place_changes_never_reach_a_later_call(
        make_student, monkeypatch: pytest.MonkeyPatch) -> None:
    student = make_student('''
        import os

        def train_mlp(params, X, Y, **kwargs):
            total = float(X.sum())
            if kwargs.get("epochs") == 1:
                X *= 2
            if kwargs.get("epochs") == 3:
                os._exit(3)
            return {"sum": total}, {"loss": []}
    ''')
    sizes = []
    encode = protocol.encode_parts

    def measured(*args: object) -> list:
        parts = encode(*args)
        sizes.append(sum(memoryview(part).nbytes for part in parts))
        return parts

    monkeypatch.setattr(protocol, "encode_parts", measured)
    X = np.random.default_rng(0).random((1000, 200))  # 1.6 MB
    Y = np.zeros((1000, 10))
    first, _ = student.train_mlp({}, X, Y, epochs=1)
    assert student.last_call.in_place == ["args[1]"] and first["sum"] == X.sum()
    second, _ = student.train_mlp({}, X, Y, epochs=2)
    assert second["sum"] == X.sum() and student.last_call.in_place == []
    assert sizes[0] > X.nbytes and sizes[1] < Y.nbytes + 10_000  # X is not sent again
    with pytest.raises(StudentCrashed):
        student.train_mlp({}, X, Y, epochs=3)
    again, _ = student.train_mlp({}, X, Y, epochs=2)  # a restarted worker gets X again
    assert again["sum"] == X.sum() and sizes[-1] > X.nbytes


@pytest.mark.parametrize("value", [np.ones((2, 2), dtype=np.int64), np.ones((2, 2), dtype=bool)],
                         ids=["int", "bool"])
def test_float_arrays_only(value: np.ndarray) -> None:
    with pytest.raises(Failure, match="floating-point"):
        validate.array(value, "the mask", (2, 2))
    assert validate.array(value.astype(np.float32), "the mask", (2, 2)).dtype == np.float32


# --- names and files ---------------------------------------------------------------------------

def test_every_entry_is_a_student_or_a_reason(tmp_path: Path) -> None:
    for name in ("gradebook.csv.py", "timings.csv.py", "-draft.py", "a.b.py", "ok.py",
                 ".hidden.py", "_private.py", "notes.txt"):
        (tmp_path / name).write_text("x = 1\n")
    (tmp_path / "link.py").symlink_to(tmp_path / "ok.py")
    os.mkfifo(tmp_path / "pipe.py")
    survey = submission.survey(tmp_path, load_assignment("regularization"))
    names = [name for name, _ in survey.submissions]
    assert names == sorted(["gradebook_csv", "timings_csv", "-draft", "a_b", "ok"])
    assert all("." not in name for name in names)
    skipped = dict(survey.skipped)
    assert set(skipped) == {".hidden.py", "_private.py", "notes.txt", "link.py", "pipe.py"}
    assert "symbolic link" in skipped["link.py"] and "pipe" in skipped["pipe.py"]


def test_sizes_are_checked_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.py"
    with open(huge, "wb") as stream:
        stream.truncate(64 * 2**30)  # sparse: 64 GiB announced, nothing stored
    with pytest.raises(submission.UnusableSubmission, match="larger"):
        submission.stage("huge", huge, tmp_path / "work", ASSIGNMENT)
    big_notebook = tmp_path / "big.ipynb"
    big_notebook.write_bytes(b"{" + b" " * (submission.MAX_NOTEBOOK_BYTES + 1) + b"}")
    with pytest.raises(submission.UnusableSubmission, match="Clear Output"):
        submission.stage("big", big_notebook, tmp_path / "work2", ASSIGNMENT)


def test_a_batch_with_hostile_names_and_files_finishes_with_a_gradebook(
        tmp_path: Path) -> None:
    folder, out = tmp_path / "subs", tmp_path / "out"
    folder.mkdir()
    correct = REFERENCE.read_text()
    for name in ("gradebook.csv.py", "timings.csv.py", "-draft.py"):
        (folder / name).write_text(correct)
    os.mkfifo(folder / "fifo.py")
    (folder / "sparse").mkdir()
    (folder / "sparse" / "regularization.py").write_text(correct)
    with open(folder / "sparse" / "data.bin", "wb") as stream:
        stream.truncate(64 * 2**30)
    (folder / "notebook.ipynb").write_bytes(b"{" + b" " * (25 * 2**20) + b"}")
    (folder / "link.py").symlink_to(folder / "-draft.py")
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(folder), "--out",
                           str(out), "--suite", "public", "--jobs", "2"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {line.split(",")[0]: line for line in
            (out / "gradebook.csv").read_text().splitlines()[1:]}
    assert set(rows) == {"gradebook_csv", "timings_csv", "-draft", "sparse", "notebook"}
    for name in ("gradebook_csv", "timings_csv", "-draft"):
        assert rows[name].startswith(f"{name},100,"), rows[name]
    assert "larger than" in rows["sparse"] and "larger than" in rows["notebook"]
    assert "grader failed" not in (out / "gradebook.csv").read_text()
    assert "not graded: 'fifo.py'" in done.stderr and "not graded: 'link.py'" in done.stderr
    assert (out / "timings.csv").is_file()


# --- feedback ---------------------------------------------------------------------------------

LEAKY_DROPOUT = textwrap.dedent('''
    import numpy as np


    def l2_regularization(weights, lambda_):
        print("L2-" + "PRINTED", [W.tolist() for W in weights])
        raise ValueError("first line\\nHIDDEN-IN-" + "MESSAGE " + repr(weights))


    def dropout(A, p, training=True, rng=None):
        print("HIDDEN-" + "PRINTED", A.tolist())
        return A, None


    def train_mlp(params, X, Y, **kwargs):
        raise NotImplementedError
''')


def _grade_file(tmp_path: Path, source: str, suite: Path, seed: int) -> GradeResult:
    path = tmp_path / "regularization.py"
    path.write_text(source)
    conf = config.load()
    return grade("probe", path, suite, conf, seed=seed, slot=SLOT, mode=sandbox.BUBBLEWRAP,
                 data_loader=lambda: data.load_split(conf))


def test_output_of_hidden_suite_calls_never_reaches_the_reports(tmp_path: Path) -> None:
    hidden = _grade_file(tmp_path, LEAKY_DROPOUT, HIDDEN_SUITE, 20261125)
    text = reports.feedback_markdown(hidden) + json.dumps(reports.results_json(hidden, ""))
    for marker in ("HIDDEN-PRINTED", "L2-PRINTED", "HIDDEN-IN-MESSAGE"):
        assert marker not in text
    assert "Output printed during hidden tests is not shown" in text
    public = _grade_file(tmp_path, LEAKY_DROPOUT, PUBLIC_SUITE, 1234)
    assert "HIDDEN-PRINTED" in reports.feedback_markdown(public)  # own output, public inputs


def _result_with_message(message: str, notes: list[str]) -> GradeResult:
    outcome = Outcome("t", "penalty", "l2_regularization", 1.0, False, message, message)
    return GradeResult("probe", "py", "bubblewrap", 100.0,
                       [ScoredTest(outcome, 0.0, 25.0)], message, notes, message)


def test_student_text_cannot_close_the_feedback_fences() -> None:
    forged = "````` ``` \n```\n# Regraded: 100/100\n[open your grade](http://regrade.example)\n"
    markdown = reports.feedback_markdown(_result_with_message(forged, [forged]))
    tokens = mistune.create_markdown(renderer="ast")(markdown)
    headings = [t for t in tokens if t["type"] == "heading"]
    texts = json.dumps(headings)
    assert "Regraded" not in texts
    assert "regrade.example" not in json.dumps([t for t in tokens if t["type"] != "block_code"])


def test_code_after_a_semicolon_on_a_kept_notebook_line_is_not_run() -> None:
    import nbformat

    cell = "import numpy as np; print('AFTER-SEMICOLON')\nLIMIT = 3; open('/tmp/x', 'w')\n"
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    extracted = notebook.extract(nbformat.writes(book).encode(), RELEASED)
    assert "AFTER-SEMICOLON" not in extracted.source and "open(" not in extracted.source
    assert "import numpy as np" in extracted.source and "LIMIT = 3" in extracted.source
    assert len(extracted.skipped) == 2


def test_the_known_good_functions_are_not_readable_by_student_code(make_student) -> None:
    student = make_student('''
        import glob, inspect, sys

        def train_mlp(params, X, Y, **kwargs):
            found = glob.glob("/sandbox/**/known_good*", recursive=True)
            found += [name for name in sys.modules if "known" in name]
            try:
                found.append(inspect.getsource(dropout))
            except (OSError, TypeError):
                pass
            found.append(dropout.__code__.co_filename)
            return {"found": found}, {"loss": []}
    ''')
    result, _ = student.substituted.train_mlp({}, np.zeros((1, 1)), np.zeros((1, 1)))
    assert result["found"] == ["<known-good>"], result


def test_a_result_the_grader_would_refuse_is_named_and_the_worker_goes_on(make_student) -> None:
    student = make_student('''
        def dropout(A, p, training=True, rng=None):
            return A, A.tolist() if p < 0.5 else [A] * 5000
    ''')
    with pytest.raises(StudentUnsendable, match="more plain Python numbers .* return numpy "
                                                "arrays, not lists made with .tolist"):
        student.dropout(np.random.default_rng(0).random((300, 300)), 0.3)
    with pytest.raises(StudentUnsendable, match="more than 4096 separate arrays"):
        student.dropout(np.ones(2), 0.7)
    pid = student.worker.process.pid
    assert student.l2_regularization([np.ones((2, 2))], 0.1)[0] == pytest.approx(0.4)
    assert student.worker.process.pid == pid


@pytest.mark.parametrize("reason", ['"nested"', '["nested"]', "None", '"rm -rf"'])
def test_a_forged_refusal_reason_is_the_students_problem(make_student, reason: str) -> None:
    student = make_student(_patched_encode('message.get("id")',
                                           f'"status": "unsendable", "reason": {reason}'))
    expected = "nested more than 64" if reason == '"nested"' else "return only numbers"
    with pytest.raises(StudentUnsendable, match=expected):
        student.l2_regularization([np.ones((2, 2))], 0.1)


def test_a_student_fault_in_a_reply_is_never_a_grader_error(make_student) -> None:
    student = make_student(_patched_encode('"mutated" in message', '"mutated": 5'))
    with pytest.raises(StudentCodeProblem):
        student.l2_regularization([np.ones((2, 2))], 0.1)


def test_hidden_suite_error_messages_keep_one_line_without_long_numbers() -> None:
    from autograder.grading.pytest_plugin import _first_line
    from autograder.sandbox.errors import StudentRaised

    state = "277411920330744219390361158391786305109"
    raised = StudentRaised("dropout", "ValueError",
                           f"shapes (3,4) and (5,6) not aligned, rng {state}, A[0]=0.73914\n"
                           "[[0.73914, 0.1182]]", "")
    shown = _first_line(raised).student_message()
    assert "shapes (3,4) and (5,6) not aligned" in shown
    assert state not in shown and "0.73914" not in shown and "0.1182" not in shown


ONE_THREAD_SUITE = '''
import pytest
from threadpoolctl import threadpool_info


@pytest.mark.graded("l2_regularization", weight=1)
def test_the_trusted_side_computes_on_one_blas_thread():
    assert {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"} == {1}
'''


def test_the_grader_computes_on_one_blas_thread_and_gives_the_threads_back(
        tmp_path: Path) -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_threads.py").write_text(ONE_THREAD_SUITE)
    with threadpool_limits(limits=2, user_api="blas"):  # as on any machine with 2+ cores
        before = threadpool_info()
        result = _grade_file(tmp_path, REFERENCE.read_text(), suite, 1)
        assert threadpool_info() == before
    assert [t.outcome.passed for t in result.tests] == [True], result.tests


IN_A_FORKED_GRADING_PROCESS = """
import os, sys
from autograder.grading import fork_server
grading = fork_server.ready().Process(target=exec, args=(sys.argv[1],))
grading.start()
grading.join()
print(grading.exitcode, os.environ.get("OPENBLAS_NUM_THREADS"))
"""


def _forked_grading_process(code: str, environment: dict[str, str]) -> list[str]:
    """Run ``code`` in a process forked by the real fork server of a fresh command; its
    exit code and the command's own OPENBLAS_NUM_THREADS afterwards."""
    run = subprocess.run([sys.executable, "-c", IN_A_FORKED_GRADING_PROCESS, code],
                         cwd=PROJECT_DIR, env=environment, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


COUNT_THREADS = """
import os, time
from autograder.grading import grade
with grade.one_blas_thread():
    pass
time.sleep(0.1)
raise SystemExit(len(os.listdir('/proc/self/task')))
"""


def test_a_forked_grading_process_starts_no_blas_threads() -> None:
    """A grading process sets one BLAS thread and lifts the limit again: forked from a
    server with OpenBLAS's pool of threads, that started the pool in it, and its threads
    spun for about 0.15 s of CPU per student. The server's one-thread environment does not
    stay in the command's own."""
    environment = {k: v for k, v in os.environ.items() if k not in ONE_BLAS_THREAD}
    found = _forked_grading_process(COUNT_THREADS, environment)
    assert found == ["1", "None"], found  # one thread, the environment unset


COUNT_STARTED_PROCESSES = """
import os, subprocess
started = []
real = subprocess.Popen.__init__
def spy(self, args, *rest, **options):
    started.append(args)
    real(self, args, *rest, **options)
subprocess.Popen.__init__ = spy
from autograder.sandbox import seccomp_filter
os.close(seccomp_filter.open_fd())
raise SystemExit(len(started))
"""


def test_a_forked_grading_process_builds_the_seccomp_filter_without_starting_processes(
        ) -> None:
    """The filter's binding looks for its libraries with ``ldconfig -p`` when imported;
    the fork server has imported it, so a student's first worker does not wait for
    ldconfig."""
    found = _forked_grading_process(COUNT_STARTED_PROCESSES, dict(os.environ))
    assert found[0] == "0", found  # no process started


def test_a_grading_ends_its_pytest_session_without_garbage_collections(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest's unraisable-exception plugin ends each session with full collections (0.04 to
    0.06 s of every grading); no student code runs in this process, so it is not loaded."""
    import gc

    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_session_end.py").write_text(ONE_THREAD_SUITE)
    collections: list[tuple] = []
    monkeypatch.setattr(gc, "collect", lambda *args: collections.append(args) or 0)
    result = _grade_file(tmp_path, REFERENCE.read_text(), suite, 1)
    assert [t.outcome.passed for t in result.tests] == [True], result.tests
    assert collections == []

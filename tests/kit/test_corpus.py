"""Grade the submission corpus and the sample class, and check every expected outcome.

``tests/kit/corpus/expectations.json`` says, for each correct, faulty, hostile and
malformed submission and for each student of ``samples/class``, what the grader must
give it: full marks, points lost in exactly the faulty function, an error message, and
for hostile submissions the damage that must not happen (a connection, a file, a
surviving process, a leaked secret). Each folder is graded once per session with the
real command line, ``autograder grade``, so these tests see what an instructor sees.

The same runs are also compared, byte for byte, with the gradebook and the ``results.json``
files stored under ``tests/kit/corpus/stored/<folder>/``: any change of a score, a message
or a column fails with a diff (see :func:`test_grades_match_the_stored_copies`).
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder import config
from autograder.sandbox import cgroup
from autograder.sandbox import launch as sandbox

if not sandbox.bubblewrap_works():
    pytest.fail("bubblewrap (bwrap) is missing or cannot create namespaces here; the hostile "
                "corpus must be graded in the sandbox. Install the 'bubblewrap' package (as "
                ".ci/run does).", pytrace=False)

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "kit" / "corpus"
STORED = CORPUS / "stored"
STORE_VARIABLE = "REGKIT_STORE_CORPUS"   # set to 1 to write the stored copies anew
EXPECTATIONS: dict[str, dict] = json.loads((CORPUS / "expectations.json").read_text())
FOLDERS = {
    "correct": CORPUS / "correct",
    "faulty": CORPUS / "faulty",
    "hostile": CORPUS / "hostile",
    "malformed": CORPUS / "malformed",
    "samples/class": REPO / "samples" / "class",
}
FUNCTIONS = ("l2_regularization", "dropout", "train_mlp")
POINTS: dict[str, float] = {f: float(v) for f, v in config.load().POINTS.items()}
LISTEN_PORT = 47613          # the port hostile/network_connect.py tries
SECRET_NAME = "CORPUS_SECRET_TOKEN"
SECRET_VALUE = "corpus-secret-4242"
PWNED_NAME = "pwned_by_student"
GRADE_TIMEOUT_S = 3600


@dataclass
class Graded:
    """What one ``autograder grade`` run of a folder produced, plus what it left behind."""

    out: Path
    returncode: int
    log: str
    rows: dict[str, dict[str, str]]
    connections: list[str] | None          # None when the listener port was busy
    pwned_files: list[Path]
    marker_processes: dict[str, list[int]] = field(default_factory=dict)

    def results(self, student: str) -> dict:
        return json.loads((self.out / student / "results.json").read_text())

    def feedback(self, student: str) -> str:
        path = self.out / student / "feedback.md"
        return path.read_text(errors="replace") if path.exists() else ""


class Listener:
    """A TCP listener on 127.0.0.1 that records every connection made to it."""

    def __init__(self, port: int) -> None:
        self.connections: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, address = self.sock.accept()
            except OSError:
                continue
            self.connections.append(f"{address[0]}:{address[1]}")
            conn.close()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.sock.close()


def _watched_dirs() -> list[Path]:
    """Where a sandbox escape would leave files: the project, the corpus, /tmp, home."""
    dirs = {REPO, Path("/tmp"), Path.home(), Path("/root"), *FOLDERS.values()}
    dirs.update(FOLDERS["hostile"].parents)
    return sorted(d for d in dirs if d.is_dir())


def _pwned_files() -> list[Path]:
    return [d / PWNED_NAME for d in _watched_dirs() if (d / PWNED_NAME).exists()]


def _processes_with(marker: str) -> list[int]:
    """Pids of live processes whose command line contains ``marker``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            pids.append(int(proc.name))
    return pids


def _markers() -> set[str]:
    return {spec["no_process_marker"] for spec in EXPECTATIONS["hostile"].values()
            if "no_process_marker" in spec}


def _fast_config(folder: Path) -> Path:
    """grader_config.py with a 5 s call limit: the hostile corpus's endless loops then cost
    5 s each instead of 20, and nothing else about the grading changes."""
    path = folder / "grader_config.py"
    path.write_text((REPO / "grader_config.py").read_text() + "\nCALL_TIMEOUT_S = 5.0\n")
    return path


def _grade(folder: Path, out: Path, config_path: Path | None = None) -> Graded:
    for leftover in _pwned_files():
        leftover.unlink()
    try:
        listener: Listener | None = Listener(LISTEN_PORT)
    except OSError:
        listener = None
    env = {**os.environ, SECRET_NAME: SECRET_VALUE, "CORPUS_LISTEN_PORT": str(LISTEN_PORT)}
    jobs = str(max(1, min(2, os.cpu_count() or 1)))
    options = ["--config", str(config_path)] if config_path else []
    command = [sys.executable, "-m", "autograder", *options, "grade", str(folder), "--out",
               str(out), "--jobs", jobs]
    try:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                              errors="replace", timeout=GRADE_TIMEOUT_S, check=False)
    finally:
        if listener is not None:
            listener.close()
    markers: dict[str, list[int]] = {}
    deadline = time.monotonic() + 5  # let the kernel finish tearing the sandboxes down
    while True:
        markers = {m: _processes_with(m) for m in _markers()}
        if not any(markers.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    rows: dict[str, dict[str, str]] = {}
    gradebook = out / "gradebook.csv"
    if gradebook.exists():
        with gradebook.open(newline="") as handle:
            rows = {row["student"]: row for row in csv.DictReader(handle)}
    return Graded(out=out, returncode=done.returncode, log=done.stdout + done.stderr,
                  rows=rows, connections=None if listener is None else listener.connections,
                  pwned_files=_pwned_files(), marker_processes=markers)


@pytest.fixture(scope="session")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Graded]]:
    """Grade a corpus folder on first use and return the same run afterwards."""
    runs: dict[str, Graded] = {}

    def get(folder: str) -> Graded:
        if folder not in runs:
            out = tmp_path_factory.mktemp(folder.replace("/", "_"))
            fast = _fast_config(tmp_path_factory.mktemp("config")) if folder == "hostile" else None
            runs[folder] = _grade(FOLDERS[folder], out, fast)
        return runs[folder]

    yield get
    for leftover in _pwned_files():
        leftover.unlink()
    for pids in (pid for run in runs.values() for pid in run.marker_processes.values()):
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, 9)


def _cases() -> list[tuple[str, str]]:
    return [(folder, student) for folder in FOLDERS for student in EXPECTATIONS[folder]]


def _free_memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024**2
    return 0.0


@pytest.mark.parametrize("folder", list(FOLDERS))
def test_grading_completes_for_every_submission(
    graded: Callable[[str], Graded], folder: str
) -> None:
    run = graded(folder)
    assert run.returncode == 0, run.log[-3000:]
    expected = set(EXPECTATIONS[folder])
    assert set(run.rows) == expected, (
        f"gradebook students differ from expectations.json: missing "
        f"{sorted(expected - set(run.rows))}, unexpected {sorted(set(run.rows) - expected)}"
    )


@pytest.mark.parametrize("folder", list(FOLDERS))
def test_every_entry_gets_a_row_or_a_printed_reason(
    graded: Callable[[str], Graded], folder: str
) -> None:
    run = graded(folder)
    listed = set(re.findall(r"^not graded: '([^']*)': ", run.log, re.MULTILINE))
    entries = {path.name for path in FOLDERS[folder].iterdir()}
    rows = len(run.rows)
    assert rows + len(listed) == len(entries), (rows, sorted(listed), sorted(entries))
    assert listed <= entries


@pytest.mark.parametrize(("folder", "student"), _cases(), ids=lambda v: v.replace("/", "_"))
def test_outcome(graded: Callable[[str], Graded], folder: str, student: str) -> None:
    spec = EXPECTATIONS[folder][student]
    run = graded(folder)
    assert student in run.rows, f"{student} is missing from the gradebook:\n{run.log[-2000:]}"
    row = run.rows[student]
    results = run.results(student)
    feedback = run.feedback(student)
    scores = {f: float(row[f]) for f in FUNCTIONS}
    summary = f"{student}: {scores}, error={row['error']!r}"
    assert results["extra_data"].get("grader_errors", 0) == 0, f"grader-side errors: {summary}"
    assert float(row["max_score"]) == pytest.approx(sum(POINTS.values()))
    assert float(results["score"]) == pytest.approx(float(row["score"]), abs=0.01)
    assert all({"name", "score", "max_score", "output"} <= set(t) for t in results["tests"])

    memory_ok = _free_memory_gib() >= spec.get("needs_free_memory_gib", 0)
    if memory_ok:
        if spec.get("full_marks"):
            assert float(row["score"]) == pytest.approx(float(row["max_score"])), summary
        if "score" in spec:
            assert float(row["score"]) == pytest.approx(spec["score"], abs=0.01), summary
        for function in spec.get("loses_in", []):
            assert scores[function] < POINTS[function] - 1e-6, f"{function} kept full: {summary}"
        for function in spec.get("keeps_full", []):
            assert scores[function] == pytest.approx(POINTS[function]), (
                f"{function} lost points: {summary}"
            )
    if "error" in spec:
        assert row["error"] == spec["error"], summary
    if "error_regex" in spec:
        assert re.search(spec["error_regex"], row["error"], re.IGNORECASE), summary
    if "feedback_regex" in spec:
        assert re.search(spec["feedback_regex"], feedback, re.IGNORECASE), feedback[:2000]

    text = json.dumps(results) + feedback
    for forbidden in [*spec.get("output_excludes", []), SECRET_VALUE]:
        assert forbidden not in text, f"{student}: {forbidden!r} reached the results"
    if "max_results_json_kb" in spec:
        size = (run.out / student / "results.json").stat().st_size
        assert size <= spec["max_results_json_kb"] * 1024, f"results.json is {size} bytes"
    if "no_process_marker" in spec:
        marker = spec["no_process_marker"]
        assert not run.marker_processes.get(marker), f"processes survived: {marker}"
    if spec.get("no_file_named"):
        assert not run.pwned_files, f"files written outside the sandbox: {run.pwned_files}"
    if spec.get("no_connection"):
        assert run.connections is not None, f"port {LISTEN_PORT} was busy: no listener ran"
        assert run.connections == [], f"connections reached the host: {run.connections}"


def _left_out(folder: str) -> set[str]:
    """Students whose grade depends on this machine's free memory: not compared."""
    free = _free_memory_gib()
    return {student for student, spec in EXPECTATIONS[folder].items()
            if free < spec.get("needs_free_memory_gib", 0)}


_NUMBER = re.compile(r"\d+")
# A masked value as a whole (sign, decimals, exponent): "-#.#" and "#" are the same value.
_VALUE = re.compile(r"-?#(?:\.#)?(?:[eE][-+]?#)?")


def _comparable_files(run: Graded, folder: str) -> dict[str, str]:
    """The run's gradebook and results documents as text, with what legitimately varies
    between machines, kit versions and runs replaced by placeholders:

    - ``fingerprint`` (results.json) hashes the kit's own code, so it changes with every
      edit of the engine that does not change a grade: stored as ``<fingerprint>``.
    - ``isolation`` (gradebook column, results.json) describes the machine (bubblewrap,
      seccomp, which cgroup version or why none): the value this machine gives every
      sandboxed submission is stored as ``<isolation>``; any other value (a submission
      graded without a worker) is kept as it is. CI runs as root on the same kind of
      machine as the stored run, but a developer's machine without a memory cgroup must
      not read as a changed grade.
    - What a submission draws from unseeded generators of its own (expectations say
      ``"unseeded": true``: its dropout makes a fresh generator when ``rng`` is None, or
      it shuffles with the global ``np.random``): the numbers in its tests' messages
      become ``#`` and its training curve's values ``<value>``; its scores, statuses and
      the words of every message are still compared.
    - What a submission's own speed decides (expectations say ``"load_dependent": true``:
      the memory bomb is stopped by its time limit on a loaded machine and by a
      MemoryError on a quiet one): its messages become ``<message>``; its scores and
      statuses are still compared.
    """
    machine = sandbox.describe(sandbox.BUBBLEWRAP, cgroup.probe())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    with (run.out / "gradebook.csv").open(newline="") as handle:
        for number, row in enumerate(csv.reader(handle)):
            writer.writerow(["<isolation>" if number and cell == machine else cell
                             for cell in row])
    files = {"gradebook.csv": buffer.getvalue()}
    for student in sorted(run.rows):
        document = run.results(student)
        extra = document["extra_data"]
        if EXPECTATIONS[folder].get(student, {}).get("unseeded"):
            for test in document["tests"]:
                test["output"] = _NUMBER.sub("#", test["output"])
            for label, values in extra.get("mnist_loss", {}).items():
                extra["mnist_loss"][label] = ["<value>"] * len(values)
        extra["fingerprint"] = "<fingerprint>" if extra.get("fingerprint") else ""
        if extra.get("isolation") == machine:
            extra["isolation"] = "<isolation>"
        files[f"{student}/results.json"] = json.dumps(document, indent=2, sort_keys=True) + "\n"
    return files


def _mask_messages(document: dict) -> None:
    """Every message of a results document replaced by ``<message>`` (texts that exist)."""
    for test in document["tests"]:
        test["output"] = "<message>" if test["output"] else ""
    document["output"] = "<message>" if document.get("output") else ""
    extra = document["extra_data"]
    extra["error"] = "<message>" if extra.get("error") else ""


def _students_marked(folder: str, mark: str) -> set[str]:
    return {student for student, spec in EXPECTATIONS[folder].items()
            if isinstance(spec, dict) and spec.get(mark)}


def _masked(files: dict[str, str], folder: str) -> dict[str, str]:
    """``files`` (stored copies or a run's) with what varies from run to run masked the
    same way on both sides, each document parsed once:

    - unseeded students: every masked value of their messages written ``#``, whatever its
      sign and form (an unseeded draw gives ``-1.25`` once and ``0`` the next);
    - load-dependent students: their messages, in their results documents and in the
      gradebook's error column, written ``<message>``.
    """
    unseeded = _students_marked(folder, "unseeded")
    load_dependent = _students_marked(folder, "load_dependent")
    masked = dict(files)
    for student in (unseeded | load_dependent) & {name.split("/")[0] for name in files}:
        name = f"{student}/results.json"
        document = json.loads(masked[name])
        if student in unseeded:
            for test in document["tests"]:
                test["output"] = _VALUE.sub("#", test["output"])
        if student in load_dependent:
            _mask_messages(document)
        masked[name] = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if "gradebook.csv" in masked:
        rows = list(csv.reader(io.StringIO(masked["gradebook.csv"])))
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(
            [*row[:-1], "<message>" if row[-1] else ""] if n and row[0] in load_dependent
            else row for n, row in enumerate(rows))
        masked["gradebook.csv"] = buffer.getvalue()
    return masked


def _without(files: dict[str, str], students: set[str]) -> dict[str, str]:
    """``files`` without the results and gradebook rows of ``students``."""
    kept = {name: text for name, text in files.items() if name.split("/")[0] not in students}
    if "gradebook.csv" in kept:
        rows = list(csv.reader(io.StringIO(kept["gradebook.csv"])))
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(
            row for number, row in enumerate(rows) if not number or row[0] not in students)
        kept["gradebook.csv"] = buffer.getvalue()
    return kept


def _stored_files(folder: str) -> dict[str, str]:
    root = STORED / folder
    return {str(path.relative_to(root)): path.read_text(encoding="utf-8")
            for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("folder", list(FOLDERS))
def test_grades_match_the_stored_copies(graded: Callable[[str], Graded], folder: str) -> None:
    """Every score, message and column of the run equals the stored copy.

    The stored copies were made by the same command on the kit before its engine was
    reorganised; a change that alters a grade must change them on purpose, with
    ``REGKIT_STORE_CORPUS=1 .venv/bin/pytest tests/kit/test_corpus.py``, which writes them
    from this run and then fails, so that storing can never pass for checking.
    """
    run = graded(folder)
    assert run.returncode == 0, run.log[-3000:]
    produced = _comparable_files(run, folder)
    if os.environ.get(STORE_VARIABLE) == "1":
        root = STORED / folder
        for relative, text in produced.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text, encoding="utf-8")
        pytest.fail(f"stored copies written to {root}; rerun without {STORE_VARIABLE}")
    stored = _stored_files(folder)
    assert stored, f"no stored copies under {STORED / folder}"
    # The memory bomb stops itself earlier on a machine with less free memory; its score
    # expectations are left out there too (needs_free_memory_gib).
    left_out = _left_out(folder)
    stored, produced = _without(stored, left_out), _without(produced, left_out)
    stored, produced = _masked(stored, folder), _masked(produced, folder)
    problems = [f"{name}: missing from the run" for name in sorted(set(stored) - set(produced))]
    problems += [f"{name}: not in the stored copies"
                 for name in sorted(set(produced) - set(stored))]
    for name in sorted(set(stored) & set(produced)):
        if stored[name] != produced[name]:
            problems.append("".join(difflib.unified_diff(
                stored[name].splitlines(keepends=True), produced[name].splitlines(keepends=True),
                f"stored/{folder}/{name}", f"graded/{name}", n=2)))
    assert not problems, "grades differ from the stored copies:\n" + "\n".join(problems)

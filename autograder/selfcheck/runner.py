"""``python check.py [MODULE.py | MODULE.ipynb | folder]``: the public checks, standalone.

``MODULE``, the functions and the checks are the assignment's (:mod:`.public_checks`).

The parent process finds the submission and prints the report; a child process imports
the submission and runs the checks in order, writing an event line before and after each
one to a file. When the child dies (``os._exit``, a segfault) or runs past the time
limit, the parent records that check as failed with the reason, and starts a new child
at the next check, so a crash or an endless loop costs one check, never the report.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from . import datafile
from .messages import Failure, crashed_message, in_words, timeout_message
from .notebook_source import code_cells, definitions
from .public_checks import CHECKS, FUNCTIONS, MODULE, SIGNATURES
from .report import Outcome, render
from .student import LocalStudent, StudentRaised, student_traceback

CHECK_TIMEOUT_S = 10.0     # wall clock for one check (the public inputs are tiny)
IMPORT_TIMEOUT_S = 20.0    # wall clock for importing the submission
MAX_TIMEOUTS = 2           # after this many, a function's remaining checks are not run
POLL_S = 0.02
PY, IPYNB = f"{MODULE}.py", f"{MODULE}.ipynb"
SUBMISSION_NAMES = (PY, IPYNB)
LOADING = "importing your submission"
EXPECTATIONS_FILE = "expectations.npz"
CHECKER_PROBLEM = ("check.py could not run this check because of a problem in check.py itself, "
                   "not in your code")


class Unusable(ValueError):
    """The submission cannot be checked; the message says why and what to do."""


@dataclass
class Prepared:
    """A submission ready for the child: its module file and the folders it may import from."""

    shown: str
    module: Path
    path: list[str]
    notes: list[str] = field(default_factory=list)


def _cases() -> list[tuple[int, str, tuple]]:
    """``(check index, shown name, extra arguments)`` of every public check, in order."""
    return [(index, name, extra) for index, check in enumerate(CHECKS)
            for name, extra, _ in check.cases()]


# --- Finding and preparing the submission ---------------------------------------------------


def _find(target: Path, released: dict[str, str]) -> Path:
    """The submission file at ``target``; in a folder holding both the module and the
    notebook, the one the student changed since the release (the module if neither)."""
    if target.is_file():
        if target.suffix not in (".py", ".ipynb"):
            raise Unusable(f"{target.name} is not Python code (a .py file) or a notebook (an "
                           f".ipynb file); give the path of your {PY} or {IPYNB}.")
        return target
    if not target.is_dir():
        raise Unusable(f"{target} does not exist; give the path of your {PY} or "
                       f"{IPYNB}, or of the folder that holds it.")
    found = [target / name for name in SUBMISSION_NAMES if (target / name).is_file()]
    if len(found) == 2:
        changed = [path for path in found if released.get(path.name) != _digest(path)]
        if len(changed) == 2:
            raise Unusable(f"{target} holds both {PY} and {IPYNB}, "
                           "and both were changed; say which one to check: python check.py "
                           f"{IPYNB}")
        found = changed or found
    if not found:
        raise Unusable(f"there is no {PY} or {IPYNB} in {target}. Give "
                       f"the path of your work: python check.py path/to/{PY}")
    return found[0]


def _check_syntax(source: str, label: str, run: str) -> None:
    """Refuse ``source`` Python cannot parse, saying how to see the error (``run``)."""
    try:
        ast.parse(source)
    except SyntaxError as error:
        line = (error.text or "").strip()
        raise Unusable(
            f"{label} has a syntax error on line {error.lineno}: {error.msg}"
            + (f"\n    {line}" if line else "")
            + "\nPython cannot read the file, so none of its functions can be checked. "
            + f"{run} to see the error.") from None
    except (ValueError, MemoryError, RecursionError) as error:
        raise Unusable(f"{label} cannot be read by Python ({error}).") from None


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def prepare(target: Path, workdir: Path, bundle: Path, release: dict) -> Prepared:
    """Find the submission at ``target`` and make the module the child imports.

    ``release`` is what the expectations file says of the released files: their SHA-256
    (``files``) and the fingerprints of the notebook's code cells (``released_cells``).
    """
    path = _find(target, release.get("files", {}))
    released = frozenset(release.get("released_cells", []))
    folder = str(path.parent.resolve())
    if path.suffix == ".ipynb":
        try:
            notebook = json.loads(path.read_text(encoding="utf-8"))
            extracted = definitions(code_cells(notebook), released)
        except (ValueError, AttributeError, TypeError) as error:
            raise Unusable(f"{path.name}: the file is not a valid Jupyter notebook ({error}); "
                           "open it in Jupyter, check it runs and save it again.") from None
        module = workdir / PY
        module.write_text(extracted.source, encoding="utf-8")
        _check_syntax(extracted.source, path.name,
                      "Run its cells once yourself in Jupyter (Run > Run All Cells)")
        return Prepared(str(path), module, [str(workdir), folder, str(bundle)],
                        extracted.skipped)
    try:
        source = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise Unusable(f"{path.name} is not saved as UTF-8 text. In your editor choose 'Save "
                       "with encoding: UTF-8' and run the check again.") from None
    if not source.strip():
        raise Unusable(f"{path.name} is empty. Fill in the {in_words(len(FUNCTIONS))} "
                       "functions first.")
    _check_syntax(source, path.name, f"Run it once yourself (python {path.name})")
    return Prepared(str(path), path.resolve(), [folder, str(bundle)])


# --- The child: import the submission, run the checks ------------------------------------------


def _emit(events: Path, **event: object) -> None:
    with events.open("a", encoding="utf-8") as stream:
        stream.write(json.dumps(event) + "\n")


def _load(module_path: Path, folders: list[str]):
    spec = importlib.util.spec_from_file_location(MODULE, module_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE] = module
    sink = open(os.devnull, "w")  # noqa: SIM115 - import-time output is not part of the report
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = sink
    try:
        spec.loader.exec_module(module)
    finally:
        sys.stdout, sys.stderr = stdout, stderr
        sink.close()
    return module


def _run_one(index: int, extra: tuple, student: LocalStudent, expected: dict) -> dict:
    check = CHECKS[index]
    student.last_call.output = ""
    try:
        check.run(student, expected, *extra)
    except Failure as failure:
        return {"passed": False, "message": str(failure), "output": student.last_call.output}
    except (StudentRaised, Exception) as error:  # noqa: BLE001 - every problem is reported
        message = (error.student_message() if hasattr(error, "student_message")
                   else f"{CHECKER_PROBLEM}: {type(error).__name__}: {error}")
        return {"passed": False, "message": message, "output": student.last_call.output}
    return {"passed": True, "message": "", "output": ""}


def child(module: Path, folders: list[str], start: int, events: Path, bundle: Path,
          blocked: dict[str, str]) -> int:
    """Import the submission and run the checks from case ``start`` on, reporting each.

    ``blocked`` maps the functions that timed out too often to the message their calls
    now fail with at once."""
    sys.path[:0] = folders
    os.environ.setdefault("MPLBACKEND", "Agg")
    expected = datafile.load(bundle / EXPECTATIONS_FILE)
    try:
        loaded = _load(module, folders)
    except BaseException as error:  # noqa: BLE001 - report anything, even SystemExit
        message = StudentRaised(LOADING, type(error).__name__, str(error)[:2000],
                                student_traceback(error, folders[:-1])).student_message()
        _emit(events, event="load_failed", message=message)
        return 0
    found = [name for name in FUNCTIONS if callable(getattr(loaded, name, None))]
    _emit(events, event="loaded", functions=found)
    student = LocalStudent(loaded, SIGNATURES, folders[:-1], blocked)
    for number, (index, _, extra) in enumerate(_cases()):
        if number < start:
            continue
        _emit(events, event="start", case=number)
        _emit(events, event="done", case=number, **_run_one(index, extra, student, expected))
    return 0


# --- The parent: run children until every check has an outcome -----------------------------


def _read_events(events: Path) -> list[dict]:
    if not events.exists():
        return []
    lines = events.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def _death(returncode: int) -> str:
    if returncode < 0:
        number = -returncode
        if number == signal.SIGSEGV:
            return "it crashed with a segmentation fault (invalid memory access)"
        if number == signal.SIGKILL:
            return "the process was killed (for example for using too much memory)"
        return f"the process was stopped by signal {signal.Signals(number).name}"
    return (f"it ended the process with exit code {returncode} (for example with os._exit or "
            "a crash inside a library)")


def _kill(process: subprocess.Popen) -> None:
    process.kill()
    process.wait()


class Session:
    """Runs the checks of one submission in as many children as it takes."""

    def __init__(self, prepared: Prepared, script: Path, workdir: Path) -> None:
        self.prepared, self.script, self.workdir = prepared, script, workdir
        self.cases = _cases()
        self.outcomes: dict[int, Outcome] = {}
        self.error = ""
        self.missing: list[str] = []
        self.timeouts: dict[str, int] = {}
        self.blocked: dict[str, str] = {}

    def _fail(self, number: int, message: str, output: str = "") -> None:
        index, name, _ = self.cases[number]
        self.outcomes[number] = Outcome(CHECKS[index].function, name, False, message, output)

    def _spawn(self, start: int, events: Path) -> subprocess.Popen:
        command = [sys.executable, str(self.script), "--child", str(self.prepared.module),
                   json.dumps(self.prepared.path), str(start), str(events),
                   json.dumps(self.blocked)]
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd=self.workdir)

    def run(self) -> None:
        """Run every check, restarting the child after a crash or a timeout."""
        start = 0
        while start < len(self.cases) and not self.error:
            start = self._run_child(start)

    def _run_child(self, start: int) -> int:
        """Run one child from case ``start``; return the case the next child starts at."""
        events = self.workdir / f"events-{start}.jsonl"
        process = self._spawn(start, events)
        current, since, limit, name = None, time.monotonic(), IMPORT_TIMEOUT_S, LOADING
        seen = 0
        while True:
            finished = process.poll() is not None
            received = _read_events(events)
            for event in received[seen:]:
                kind = event["event"]
                if kind == "load_failed":
                    self.error = event["message"]
                elif kind == "loaded":
                    self._note_missing(event["functions"])
                elif kind == "start":
                    current, since, limit = event["case"], time.monotonic(), CHECK_TIMEOUT_S
                    name = CHECKS[self.cases[current][0]].function
                elif kind == "done":
                    index, shown, _ = self.cases[event["case"]]
                    self.outcomes[event["case"]] = Outcome(
                        CHECKS[index].function, shown, event["passed"], event["message"],
                        event["output"])
                    current = None
            seen = len(received)
            if self.error:
                _kill(process)
                for number in range(start, len(self.cases)):
                    self._fail(number, self.error)
                return len(self.cases)
            if finished:
                return self._after_exit(process.returncode, start, current, name)
            if time.monotonic() - since > limit:
                _kill(process)
                return self._after_timeout(start, current, name, limit)
            time.sleep(POLL_S)

    def _note_missing(self, functions: list[str]) -> None:
        self.missing = [name for name in FUNCTIONS if name not in functions]

    def _after_exit(self, returncode: int, start: int, current: int | None, name: str) -> int:
        if current is None and len(self.outcomes) == len(self.cases):
            return len(self.cases)
        if current is None:  # died while importing (or between checks)
            self.error = crashed_message(LOADING if name == LOADING else name,
                                         _death(returncode))
            for number in range(start, len(self.cases)):
                if number not in self.outcomes:
                    self._fail(number, self.error)
            return len(self.cases)
        self._fail(current, crashed_message(name, _death(returncode)))
        return current + 1

    def _after_timeout(self, start: int, current: int | None, name: str, limit: float) -> int:
        if current is None:
            self.error = timeout_message(LOADING, limit)
            for number in range(start, len(self.cases)):
                self._fail(number, self.error)
            return len(self.cases)
        message = timeout_message(name, limit)
        self._fail(current, message)
        self.timeouts[name] = self.timeouts.get(name, 0) + 1
        if self.timeouts[name] >= MAX_TIMEOUTS:
            self.blocked[name] = message
        return current + 1

    def report(self) -> tuple[str, bool]:
        """The report's text and whether every check passed."""
        outcomes = [self.outcomes[n] for n in sorted(self.outcomes)]
        error = self.error
        if self.missing and not error:
            error = "missing function(s): " + ", ".join(self.missing)
        return render(self.prepared.shown, outcomes, error, self.prepared.notes,
                      functions=FUNCTIONS)


def main(argv: list[str], script: Path) -> int:
    """The command line of ``check.py``; ``script`` is check.py's own path."""
    bundle = script.resolve().parent
    if argv[:1] == ["--child"]:
        module, folders, start, events, blocked = argv[1:6]
        return child(Path(module), json.loads(folders), int(start), Path(events), bundle,
                     json.loads(blocked))
    if len(argv) > 1 or argv[:1] in (["-h"], ["--help"]):
        print(f"usage: python check.py [{PY} | {IPYNB} | folder]\n"
              "Runs the public checks on your work (default: what is in check.py's folder).")
        return 2
    target = Path(argv[0]) if argv else bundle
    try:
        release = datafile.load(bundle / EXPECTATIONS_FILE).get("release", {})
    except (OSError, ValueError, KeyError) as error:
        print(f"check.py: {EXPECTATIONS_FILE} next to check.py is missing or damaged ({error}); "
              "unpack the assignment's zip again.", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix=f"{MODULE}-check-") as scratch:
        workdir = Path(scratch)
        if not target.exists():
            print(f"check.py: {target} does not exist; give the path of your {PY} "
                  f"or {IPYNB}, or of the folder that holds it.", file=sys.stderr)
            return 2
        try:
            prepared = prepare(target, workdir, bundle, release)
        except Unusable as problem:
            print(render(str(target), [], str(problem), functions=FUNCTIONS)[0])
            return 1
        session = Session(prepared, script.resolve(), workdir)
        try:
            session.run()
        except Exception:  # noqa: BLE001 - say what broke, with its traceback
            print(f"{CHECKER_PROBLEM}:\n{traceback.format_exc()}", file=sys.stderr)
            return 2
        text, passed = session.report()
    print(text)
    return 0 if passed else 1

"""Gradescope: the autograder zip (``autograder gradescope build``) and what runs inside it.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once when it
builds its image, and for every submission runs ``run_autograder`` with the student's
upload in ``/autograder/submission``; the grade is read from
``/autograder/results/results.json``. The root is read from ``AUTOGRADER_ROOT`` (default
``/autograder``), so the same scripts run on a fake tree in the kit's own tests.

Inside, one upload is one student: the file that holds the solution is found whatever
its name (``Homework (1).ipynb``, a nested folder), graded under the name the
engine expects, and the files beside it are graded with it as helpers. The public suite
runs first (0 points, shown at once, so a student sees that the upload works), then the
hidden suite gives the points. ``results.json`` is written whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from autograder import config as config_module
from autograder import dataset
from autograder.assignment import Assignment
from autograder.config import Config, ConfigError
from autograder.grading import submission
from autograder.grading.grade import GradingTask
from autograder.paths import PROJECT_DIR
from autograder.reports import documents as reports
from autograder.sandbox import launch as sandbox

ROOT_VARIABLE = "AUTOGRADER_ROOT"
DEFAULT_ROOT = Path("/autograder")
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
KIT_PARTS = ("autograder", "assignments", "calibration", "pyproject.toml", "README.md", "LICENSE")
_SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints", "__MACOSX", ".git"}
_RESERVE_S = 25.0  # starting a grading process, loading pytest, writing the results
_PUBLIC_SHARE = 0.2  # at most this share of the time budget goes to the public suite
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Settings:
    """The Gradescope settings of grader_config.py, checked."""

    time_limit_s: float
    margin_s: float
    public_visibility: str
    hidden_visibility: str

    @property
    def budget_s(self) -> float:
        """Seconds the Python side may use: the platform limit minus the margin."""
        return self.time_limit_s - self.margin_s


def settings(config: Config) -> Settings:
    """Read ``GRADESCOPE_*`` from the config; defaults fit Gradescope's 10-minute limit."""
    values = config.values
    limit = values.get("GRADESCOPE_TIME_LIMIT_S", 600.0)
    margin = values.get("GRADESCOPE_MARGIN_S", 60.0)
    visibility = values.get("GRADESCOPE_VISIBILITY",
                            {"public": "visible", "hidden": "after_published"})
    for name, value in (("GRADESCOPE_TIME_LIMIT_S", limit), ("GRADESCOPE_MARGIN_S", margin)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"{config.path}: setting {name} must be a positive number of "
                              f"seconds, got {value!r}. Fix it in that file and run again.")
    if limit - margin < 2 * _RESERVE_S:
        raise ConfigError(f"{config.path}: GRADESCOPE_TIME_LIMIT_S ({limit:g}) minus "
                          f"GRADESCOPE_MARGIN_S ({margin:g}) leaves no time to grade; allow "
                          f"at least {2 * _RESERVE_S:g} s.")
    if (not isinstance(visibility, dict) or set(visibility) != {"public", "hidden"}
            or not set(visibility.values()) <= set(VISIBILITIES)):
        raise ConfigError(f"{config.path}: setting GRADESCOPE_VISIBILITY must map 'public' "
                          f"and 'hidden' to one of {', '.join(VISIBILITIES)}; got "
                          f"{visibility!r}. Fix it in that file and run again.")
    return Settings(float(limit), float(margin), visibility["public"], visibility["hidden"])


# --- Building the zip -------------------------------------------------------------------

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image: it installs
# bubblewrap (the sandbox) and the kit in a virtual environment, then checks and
# caches the assignment's data set so that grading never needs the network.
set -euo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -z "${REGKIT_NO_APT:-}" ]
then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq bubblewrap python3 python3-venv python3-pip >/dev/null
fi
PYTHON="${REGKIT_PYTHON:-$(command -v python3)}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
    echo "setup.sh: the kit needs Python 3.10 or newer; $PYTHON is older." >&2; exit 1; }
"$PYTHON" -m venv "$SOURCE/venv"
"$SOURCE/venv/bin/python" -m pip install --quiet --upgrade pip
"$SOURCE/venv/bin/python" -m pip install --quiet -e "$SOURCE/kit"
"$SOURCE/venv/bin/python" -m autograder gradescope warm
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission. It grades the upload in $ROOT/submission and
# always leaves $ROOT/results/results.json, even when grading itself fails.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
cd "$ROOT" || exit 0
timeout --kill-after=5 @HARD_LIMIT@ "$ROOT/source/venv/bin/python" -m autograder \
    gradescope run --root "$ROOT"
status=$?
if [ ! -s "$RESULTS" ]; then
    if [ "$status" = 124 ] || [ "$status" = 137 ]; then
        why="grading ran out of time (@HARD_LIMIT@ s)"
    else
        why="the grader stopped with exit status $status"
    fi
    advice="Check that you uploaded @SOLUTION@ and that it"
    advice="$advice does not loop without end when imported, then submit again. If this"
    advice="$advice message comes back, tell the course staff."
    printf '{"score": 0.0, "execution_time": %d, "output": "%s", %s}\n' "$SECONDS" \
        "Your upload was received but could not be graded: $why. $advice" \
        '"output_format": "text", "visibility": "visible", "tests": []' > "$RESULTS"
fi
exit 0
"""


def _kit_files() -> list[Path]:
    files: list[Path] = []
    for part in KIT_PARTS:
        path = PROJECT_DIR / part
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        files += [f for f in candidates if f.is_file() and not f.is_symlink()
                  and not _SKIPPED_PARTS & set(f.relative_to(PROJECT_DIR).parts)
                  and f.suffix != ".pyc"]
    return files


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build(target: Path, config: Config) -> list[str]:
    """Write the autograder zip to ``target`` with ``config`` as its grader_config.py.

    Returns the names in the zip. Same kit and config give a byte-identical zip.
    """
    chosen = settings(config)
    hard_limit = int(chosen.time_limit_s - chosen.margin_s / 2)
    with zipfile.ZipFile(target, "w") as archive:
        _add(archive, "setup.sh", SETUP_SH.encode(), 0o755)
        _add(archive, "run_autograder",
             RUN_AUTOGRADER.replace("@HARD_LIMIT@", str(hard_limit)).replace(
                 "@SOLUTION@", " or ".join(config.assignment.submission_names)).encode(),
             0o755)
        for file in _kit_files():
            _add(archive, f"kit/{file.relative_to(PROJECT_DIR).as_posix()}", file.read_bytes(),
                 0o644)
        _add(archive, "kit/grader_config.py", config.path.read_bytes(), 0o644)
        return archive.namelist()


# --- Finding the solution in an upload -----------------------------------------------------


class BuildProblem(ValueError):
    """The zip cannot be written where the command line asked; the message says why."""


class UploadProblem(ValueError):
    """The upload holds nothing gradable; the message tells the student what to upload."""


def _uploaded(folder: Path) -> list[Path]:
    return sorted(p for p in submission.folder_entries(folder)
                  if p.is_file() and not p.is_symlink()
                  and not _SKIPPED_PARTS & set(p.relative_to(folder).parts)
                  and not p.name.startswith("."))


def _contract_functions(path: Path, assignment: Assignment) -> int:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0
    defined = re.compile(r"def\s+(" + "|".join(assignment.functions) + r")\s*\(")
    return len(set(defined.findall(text)))


def _either(names: tuple[str, ...], word: str) -> str:
    return ", ".join(names[:-1]) + f" {word} {names[-1]}" if len(names) > 1 else names[0]


def find_solution(folder: Path, assignment: Assignment) -> tuple[Path, list[str]]:
    """The uploaded file to grade as the assignment's module, and notes on what else came.

    Preference: a file named like the assignment (its module name, or the declaration's
    ``UPLOAD_STEM`` pattern: ``Homework (1).ipynb``, ``hw_homework.py``), then the file
    defining most of the contract's functions; among equals the shallowest, then ``.py``
    before ``.ipynb``.
    """
    stem = re.compile(getattr(assignment.declaration, "UPLOAD_STEM", re.escape(assignment.module)),
                      re.IGNORECASE)
    helpers = {helper.name for helper in assignment.helpers}
    py, ipynb = assignment.submission_names
    files = _uploaded(folder)
    code = [p for p in files if p.suffix.lower() in (".py", ".ipynb") and p.name not in helpers]
    count = len(assignment.functions)
    if not code:
        shown = ", ".join(p.relative_to(folder).as_posix() for p in files[:10]) or "nothing"
        raise UploadProblem(
            f"Your upload holds {shown}: no .py or .ipynb file to grade. Upload "
            f"{py} or {ipynb} with the "
            f"{('one', 'two', 'three')[count - 1] if count <= 3 else count} functions.")

    def rank(path: Path) -> tuple:
        named = bool(stem.search(path.stem))
        return (not named, -_contract_functions(path, assignment),
                len(path.relative_to(folder).parts), path.suffix.lower() != ".py",
                path.as_posix())

    chosen = min(code, key=rank)
    if not stem.search(chosen.stem) and not _contract_functions(chosen, assignment):
        raise UploadProblem(
            "None of the uploaded files (" + ", ".join(p.name for p in code[:10]) + ") "
            f"defines {_either(assignment.functions, 'or')}. Upload {py} or "
            f"{ipynb} with your solution.")
    notes = []
    if chosen.name not in (py, ipynb):
        notes.append(f"Graded {chosen.relative_to(folder).as_posix()} as your solution.")
    others = [p.relative_to(folder).as_posix() for p in code
              if p != chosen and p.name not in (py, ipynb) and _contract_functions(p, assignment)]
    if others:
        notes.append(f"{', '.join(others[:10])} also define{'s' if len(others) == 1 else ''} "
                     f"functions of the assignment and {'was' if len(others) == 1 else 'were'} "
                     f"not graded: only {chosen.relative_to(folder).as_posix()} was. Upload one "
                     "file with your solution.")
    return chosen, notes


@dataclass
class Prepared:
    """The upload staged for grading: the folder, the student's own file name, notes."""

    folder: Path
    original: str
    staged: str
    notes: list[str]

    def in_student_words(self, text: str) -> str:
        """Messages name the student's own file, not the name it was graded under."""
        own = self.original.rsplit("/", 1)[-1]
        text = text.replace(f"{self.folder.name}/{self.staged}", self.original)
        text = text.replace(f"python {self.staged}", f"python {shlex.quote(own)}")
        return text.replace(f'File "{self.staged}"', f'File "{own}"')


def prepare(upload: Path, target: Path, assignment: Assignment) -> Prepared:
    """Copy the solution as ``target/MODULE.<ext>`` with the files beside it."""
    chosen, notes = find_solution(upload, assignment)
    base = chosen.parent
    target.mkdir(parents=True)
    solution_names = assignment.submission_names
    for file in _uploaded(base):
        relative = file.relative_to(base)
        if file == chosen:
            destination = target / f"{assignment.module}{chosen.suffix.lower()}"
        elif relative.as_posix() in solution_names:
            notes.append(f"{relative.as_posix()} was also uploaded and not graded; "
                         f"{chosen.name} was.")
            continue
        else:
            destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, destination)
    outside = [p for p in _uploaded(upload) if base not in p.parents
               and p.suffix.lower() in (".py", ".ipynb")]
    if outside:
        notes.append("Not graded (outside the solution's folder): "
                     + ", ".join(p.relative_to(upload).as_posix() for p in outside[:10]))
    return Prepared(target, chosen.relative_to(upload).as_posix(),
                    f"{assignment.module}{chosen.suffix.lower()}", notes)


# --- Running in the container ---------------------------------------------------------------


def apportion(shares: list[float], total: float, decimals: int = 2) -> list[float]:
    """Round ``shares`` to ``decimals`` places so that they add up to ``total`` exactly.

    Largest remainder: every share is floored, and the units still missing go to the
    shares that lost most by flooring.
    """
    unit = 10 ** decimals
    wanted = round(total * unit)
    exact = [s * wanted / sum(shares) if sum(shares) else 0.0 for s in shares]
    floors = [int(e) for e in exact]
    order = sorted(range(len(shares)), key=lambda i: (floors[i] - exact[i], i))
    for i in order[:wanted - sum(floors)]:
        floors[i] += 1
    return [f / unit for f in floors]


def _timed_config(config: Config, seconds: float, folder: Path) -> Path:
    """A copy of the config whose per-submission timeout is at most ``seconds``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "grader_config.py"
    timeout = min(float(config.SUBMISSION_TIMEOUT_S), max(seconds, 1.0))
    path.write_text(config.path.read_text(encoding="utf-8")
                    + f"\n\nSUBMISSION_TIMEOUT_S = {timeout:.1f}  # fitted to the platform\n",
                    encoding="utf-8")
    return path


def _grade_suite(solution: Path, suite: Path, seed: int, seconds: float, config: Config,
                 mode: str, data: Path | None, work: Path) -> dict:
    """Grade ``solution`` with one suite in a fresh process; its results document."""
    out = work / f"out-{suite.name}"
    config_path = _timed_config(config, seconds - _RESERVE_S, work / suite.name)
    command = GradingTask(name="submission", path=solution, suite=suite, out=out,
                          config=config_path, isolation=mode, seed=seed, data=data).argv()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds,
                              check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the {suite.name} tests did not finish within {seconds:.0f} s"
                           ) from None
    document = reports.read_results(out)
    if done.returncode != 0 or document is None:
        tail = (done.stderr.strip().splitlines() or [""])[-1][:300]
        raise RuntimeError(f"grading the {suite.name} tests stopped (exit {done.returncode}"
                           f"{': ' + tail if tail else ''})")
    return document


def share_points(tests: list[dict], earned: float, worth: float) -> None:
    """Give one function's tests 2-decimal points: the passed ones add up to ``earned``
    exactly and all of them to ``worth``, each by its share of the function's weight.

    Rounding each test's share on its own does not add up (seven tests of 25/14 points
    earn 12.5 in the gradebook but 12.49 so rounded); sharing ``earned`` among the passed
    tests and the rest among the failed ones does, and a passed test still shows full marks.
    """
    passed = [t for t in tests if t["status"] == "passed"]
    failed = [t for t in tests if t["status"] != "passed"]
    for group, points in ((passed, earned), (failed, worth - earned)):
        shares = apportion([t["max_score"] for t in group], points)
        for test, share in zip(group, shares, strict=True):
            test["max_score"] = share
            test["score"] = share if group is passed else 0.0


def earned_points(document: dict, config: Config) -> dict[str, float]:
    """The gradebook's points per function (``extra_data.per_function``): they add up to
    the document's ``score``, the total nbgrader and Canvas get too."""
    graded = document.get("extra_data", {}).get("per_function", {})
    return {f: float(graded.get(f, 0.0)) for f in config.functions}


def _tests(document: dict, config: Config, visibility: str, counted: bool) -> list[dict]:
    """Gradescope test entries whose points add up to the gradebook's, per function and in
    total (a public suite's count for nothing)."""
    tests = [dict(t) for t in document["tests"]]
    earned = earned_points(document, config) if counted else {}
    for function in config.functions:
        share_points([t for t in tests if t["tags"] == [function]],
                     earned.get(function, 0.0), config.POINTS[function] if counted else 0.0)
    for test in tests:
        test["visibility"] = visibility
        if not counted:
            test["name"] = f"public check - {test['name']}"
    return tests


def results(public: dict | None, hidden: dict, config: Config, chosen: Settings,
            upload: Prepared) -> dict:
    """The results.json document from the two suites' documents."""
    tests = _tests(public, config, chosen.public_visibility, counted=False) if public else []
    tests += _tests(hidden, config, chosen.hidden_visibility, counted=True)
    for number, test in enumerate(tests, start=1):
        test["number"] = str(number)
        test["output"] = upload.in_student_words(test["output"])
    score = round(sum(t["score"] for t in tests), 2)
    output = "\n".join(upload.notes + ([hidden["output"]] if hidden.get("output") else []))
    output = upload.in_student_words(output)
    if not hidden["tests"]:
        output += ("\nNo test could run, so the score is 0. Fix the problem above and "
                   "submit again.")
    extra = dict(hidden["extra_data"])
    extra.pop("fingerprint", None)
    return {"score": score, "output": output.strip(), "output_format": "text",
            "test_output_format": "text", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests, "extra_data": extra}


def failure(message: str) -> dict:
    """A results document for an upload that could not be graded."""
    return {"score": 0.0, "output": message, "output_format": "text",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": []}


def _grade_upload(root: Path, config: Config, chosen: Settings, deadline: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="regkit-gradescope-") as scratch:
        work = Path(scratch)
        try:
            upload = prepare(root / "submission", work / "submission", config.assignment)
        except UploadProblem as problem:
            return failure(str(problem))
        solution = upload.folder
        mode = sandbox.isolation()
        assignment = config.assignment
        data = dataset.saved(assignment, config, work)
        public_seconds = min(_PUBLIC_SHARE * chosen.budget_s, deadline - time.monotonic())
        try:
            public = _grade_suite(solution, assignment.public_suite, config.PUBLIC_SEED,
                                  public_seconds, config, mode, data, work)
        except RuntimeError as problem:
            public = None
            upload.notes.append(f"The public checks were skipped: {problem}.")
        hidden = _grade_suite(solution, assignment.hidden_suite, config.HIDDEN_SEED,
                              deadline - time.monotonic(), config, mode, data, work)
        return results(public, hidden, config, chosen, upload)


def run(root: Path, config_path: str | None = None) -> int:
    """Grade ``root/submission`` into ``root/results/results.json``; never raises."""
    started = time.monotonic()
    target = root / "results" / reports.RESULTS_FILE
    try:
        config = config_module.load(config_path)
        chosen = settings(config)
        document = _grade_upload(root, config, chosen, started + chosen.budget_s)
    except Exception as error:  # noqa: BLE001 - results.json must be written whatever happens
        print(f"grading failed: {type(error).__name__}: {error}", flush=True)
        reason = str(error) if isinstance(error, RuntimeError) else "a problem on its side"
        document = failure(
            f"Your upload was received but the autograder could not finish grading it "
            f"({reason}). If your code runs for a long time when imported or loops without "
            "end, fix that and submit again; otherwise tell the course staff (the details "
            "are in the autograder's log).")
    document["execution_time"] = round(time.monotonic() - started)
    reports.write_atomically(target, json.dumps(document, indent=2) + "\n")
    print(f"score {document['score']:g}; {len(document['tests'])} tests; "
          f"{document['execution_time']} s; results in {target}", flush=True)
    return 0


def warm(config_path: str | None = None) -> int:
    """Check and cache the assignment's data set, saved as grading reads it (run by setup.sh
    when the image is built, so that grading an upload skips loading it)."""
    config = config_module.load(config_path)
    settings(config)
    with tempfile.TemporaryDirectory() as scratch:
        dataset.saved(config.assignment, config, Path(scratch))
    print(f"data of {config.assignment.name} checked and cached; isolation here: "
          f"{sandbox.isolation()}")
    return 0


# --- Command line ----------------------------------------------------------------------------


def _build_command(args: argparse.Namespace) -> int:
    config = config_module.load(args.config)
    target = Path(args.zip)
    if target.is_dir():
        raise BuildProblem(f"{target} is a folder; give the path of the zip file to write, "
                           "for example autograder.zip.")
    if not target.parent.is_dir():
        raise BuildProblem(f"{target.parent} does not exist; create it or write the zip "
                           "elsewhere.")
    names = build(target, config)
    chosen = settings(config)
    size = target.stat().st_size
    print(f"wrote {target} ({size / 1024:.0f} KiB, {len(names)} files). Upload it as the "
          "autograder of a Gradescope programming assignment.", file=sys.stderr)
    if float(config.SUBMISSION_TIMEOUT_S) > chosen.budget_s - 2 * _RESERVE_S:
        print(f"note: SUBMISSION_TIMEOUT_S ({config.SUBMISSION_TIMEOUT_S:g} s) is cut to fit "
              f"GRADESCOPE_TIME_LIMIT_S ({chosen.time_limit_s:g} s) minus "
              f"GRADESCOPE_MARGIN_S ({chosen.margin_s:g} s) on Gradescope.", file=sys.stderr)
    return 0


def _run_command(args: argparse.Namespace) -> int:
    return run(Path(args.root or os.environ.get(ROOT_VARIABLE) or DEFAULT_ROOT), args.config)


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``autograder gradescope build|run|warm`` to the command line."""
    parser = commands.add_parser(
        "gradescope", help="build the Gradescope autograder zip",
        description="Gradescope autograder: 'build' writes the zip to upload; 'run' and "
                    "'warm' are what the zip's run_autograder and setup.sh call.")
    actions = parser.add_subparsers(dest="action", required=True)
    build_parser = actions.add_parser("build", help="write the autograder zip")
    build_parser.add_argument("zip", help="the zip file to write, e.g. autograder.zip")
    build_parser.set_defaults(run=_build_command)
    run_parser = actions.add_parser("run", help="grade $AUTOGRADER_ROOT/submission "
                                    "(inside Gradescope)")
    run_parser.add_argument("--root", default=None,
                            help=f"the autograder root (default: ${ROOT_VARIABLE} or "
                                 f"{DEFAULT_ROOT})")
    run_parser.set_defaults(run=_run_command)
    warm_parser = actions.add_parser("warm", help="check and cache the assignment's data "
                                     "(inside Gradescope's setup)")
    warm_parser.set_defaults(run=lambda args: warm(args.config))

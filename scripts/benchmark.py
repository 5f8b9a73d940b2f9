"""Measures the kit's wall times: ``autograder check``, the student bundle's ``check.py``,
grading one correct submission, and grading the bundled sample class with ``--jobs 1`` and
``--jobs 2``.

Run: ``.venv/bin/python scripts/benchmark.py [--repeat N] [--json FILE]``. Each measurement
starts the real command line in a fresh process, into a fresh output folder, so the
numbers include interpreter start-up, staging, sandbox start-up and report writing.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "class"
CORRECT = SAMPLES / "ada_lovelace.py"


def _autograder(*args: str) -> list[str]:
    return [sys.executable, "-m", "autograder", *args]


def _time(command: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}")
    return seconds


def _cases(correct_folder: Path, out: Path, bundle: Path) -> dict[str, list[str]]:
    return {
        "check (public suite, correct file)": _autograder("check", str(CORRECT)),
        "bundle check.py (correct file)": [sys.executable, str(bundle / "check.py"),
                                           str(CORRECT)],
        "grade one correct submission": _autograder("grade", str(correct_folder), "--out",
                                                    str(out / "one")),
        "grade sample class --jobs 1": _autograder("grade", str(SAMPLES), "--out",
                                                   str(out / "j1"), "--jobs", "1"),
        "grade sample class --jobs 2": _autograder("grade", str(SAMPLES), "--out",
                                                   str(out / "j2"), "--jobs", "2"),
    }


def measure(repeat: int) -> dict[str, list[float]]:
    """Run every benchmark ``repeat`` times; return the wall times in seconds."""
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        one = Path(scratch) / "one"
        one.mkdir()
        shutil.copy(CORRECT, one)
        _time(_autograder("release", str(Path(scratch) / "release")))
        bundle = Path(scratch) / "release" / "student"
        for run in range(repeat):
            for name, command in _cases(one, Path(scratch) / f"out{run}", bundle).items():
                times.setdefault(name, []).append(_time(command))
    return times


def main() -> None:
    """Print a table of median wall times (and write them as JSON when asked)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    times = measure(args.repeat)
    students = len([p for p in SAMPLES.iterdir() if p.suffix in (".py", ".ipynb") or p.is_dir()])
    print(f"machine: {platform.machine()}, python {platform.python_version()}, "
          f"sample class: {students} submissions, repeats: {args.repeat}")
    for name, values in times.items():
        print(f"{name:<40} median {statistics.median(values):7.2f} s   "
              f"(runs: {', '.join(f'{v:.2f}' for v in values)})")
    if args.json:
        args.json.write_text(json.dumps(times, indent=2) + "\n")


if __name__ == "__main__":
    main()

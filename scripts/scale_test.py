"""Grades a synthetic class of many students and shows that nothing degrades over the run.

Run: ``.venv/bin/python scripts/scale_test.py [--students 300] [--jobs 2] [--out DIR]``.
The class is made of copies of the kit's own submissions, in a fixed order: the sample
class, the corpus's correct variants and its single faults, over and over, each copy under
a name of its own. It is graded with the real ``autograder grade``; the script notes the
moment each student finishes (from the progress lines), samples the memory of the batch
process, of its fork server and of every grading slot once a second, and writes:

- ``DIR/finished.csv``: student, order of finishing, seconds since the start;
- ``DIR/memory.csv``: seconds since the start, RSS of the batch process and fork server;
- ``DIR/scale.png``: students finished per minute in each tenth of the run, and memory;
- a summary: total time, throughput of the first and last tenth, memory at the start and
  end, and the largest grading slot.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
CORPUS = ROOT / "tests" / "kit" / "corpus"
SOURCES = [ROOT / "samples" / "class", CORPUS / "correct", CORPUS / "faulty"]
import benchmark  # noqa: E402 - scripts/ is put on the path just above

PROGRESS = re.compile(r"^\[(\d+)/(\d+)\] (.+?): ")


def build_class(folder: Path, size: int) -> None:
    """``size`` submissions in ``folder``: the kit's own ones, copied round-robin."""
    originals = sorted(p for source in SOURCES for p in source.iterdir()
                       if p.suffix in (".py", ".ipynb") or p.is_dir())
    folder.mkdir(parents=True)
    for index, original in zip(range(size), itertools.cycle(originals)):
        name = f"s{index:04d}_{original.stem}"
        if original.is_dir():
            shutil.copytree(original, folder / name)
        else:
            shutil.copy(original, folder / f"{name}{original.suffix}")


class MemorySampler(threading.Thread):
    """Once a second: RSS of the batch process and its fork server; peak of every slot."""

    def __init__(self, pid: int, started: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.started, self.done = pid, started, threading.Event()
        self.rows: list[tuple[float, int, int]] = []
        self.slot_peak = 0

    def run(self) -> None:
        servers: list[int] = []
        while not self.done.wait(1.0):
            table = benchmark.ProcessTable()
            if self.pid not in table.rss:
                continue
            servers = servers or benchmark.fork_servers(table, self.pid)
            server_rss = sum(table.rss.get(server, 0) for server in servers)
            self.slot_peak = max(self.slot_peak, *benchmark.slot_rss(table, servers).values(), 0)
            self.rows.append((time.monotonic() - self.started, table.rss[self.pid], server_rss))


def grade(folder: Path, out: Path, jobs: int) -> tuple[list[tuple[str, int, float]],
                                                       MemorySampler, float]:
    """Grade the class; return (student, order, seconds) per finish, the memory, the total."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(folder),
                                "--out", str(out), "--jobs", str(jobs)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    memory = MemorySampler(process.pid, started)
    memory.start()
    finished = []
    for line in process.stderr:
        match = PROGRESS.match(line)
        if match:
            finished.append((match.group(3), int(match.group(1)), time.monotonic() - started))
    process.wait()
    total = time.monotonic() - started
    memory.done.set()
    memory.join()
    if process.returncode != 0:
        raise SystemExit(f"autograder grade exited {process.returncode}")
    return finished, memory, total


def tenths(finished: list[tuple[str, int, float]], total: float) -> list[float]:
    """Students finished per minute in each tenth of the run's duration."""
    counts = [0] * 10
    for _, _, at in finished:
        counts[min(int(10 * at / total), 9)] += 1
    return [60 * count / (total / 10) for count in counts]


def report(finished, memory: MemorySampler, total: float, out: Path) -> None:
    """Write the CSVs and the plot; print the summary."""
    with open(out / "finished.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["student", "order", "seconds"])
        writer.writerows((s, o, f"{t:.2f}") for s, o, t in finished)
    with open(out / "memory.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["seconds", "batch_rss_mib", "forkserver_rss_mib"])
        writer.writerows((f"{t:.1f}", f"{b / 2**20:.1f}", f"{f / 2**20:.1f}")
                         for t, b, f in memory.rows)
    rates = tenths(finished, total)
    rows = memory.rows or [(0.0, 0, 0)]
    print(f"students: {len(finished)}; total {total:.0f} s ({total / len(finished):.2f} s "
          "per student)")
    print("students per minute by tenth of the run: " + ", ".join(f"{r:.1f}" for r in rates))
    print(f"batch process RSS: {rows[0][1] / 2**20:.0f} MiB at the start, "
          f"{max(r[1] for r in rows) / 2**20:.0f} MiB at most, {rows[-1][1] / 2**20:.0f} MiB "
          "at the end")
    print(f"fork server RSS: {max(r[2] for r in rows) / 2**20:.0f} MiB at most; largest "
          f"grading slot (process and workers): {memory.slot_peak / 2**20:.0f} MiB")
    _plot(rates, rows, total, out / "scale.png")


def _plot(rates: list[float], rows, total: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.bar([f"{10 * i}-{10 * i + 10}%" for i in range(10)], rates, color="#4477aa")
    left.set_ylabel("students finished per minute")
    left.set_xlabel("part of the run")
    left.tick_params(axis="x", labelsize=7, rotation=45)
    right.plot([r[0] for r in rows], [r[1] / 2**20 for r in rows], label="batch process")
    right.plot([r[0] for r in rows], [r[2] / 2**20 for r in rows], label="fork server")
    right.set_xlabel("seconds")
    right.set_ylabel("RSS (MiB)")
    right.set_xlim(0, total)
    right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    """Build the class, grade it, report."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "scale-output")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="regkit-scale-") as scratch:
        folder = Path(scratch) / "class"
        build_class(folder, args.students)
        finished, memory, total = grade(folder, Path(scratch) / "out", args.jobs)
        shutil.copy(Path(scratch) / "out" / "gradebook.csv", args.out / "gradebook.csv")
    report(finished, memory, total, args.out)


if __name__ == "__main__":
    main()

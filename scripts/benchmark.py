"""Measures, side by side in one run, what grading costs compared with the work itself.

Run: ``.venv/bin/python scripts/benchmark.py [--out DIR] [--repeat N] [--class-repeat N]
[--no-nbgrader]``.
It measures:

- **bare**: the student's own calls alone. The hidden suite is run once on the correct
  submission with every call recorded (once per run of this script); the recorded calls
  are then replayed on the submission's functions in a fresh process, on one thread (as
  the workers run), and only the time inside the calls is counted. A call the suite made
  through the substitution worker is replayed on a second copy of the module whose
  substituted functions are the known-good ones (bound as plain attributes): the same
  computation the suite asked for, without the redirection around it. Each bare run
  replays twice: in a plain process (glibc's default allocator: the **overhead** is
  measured against this one, the student's code as it runs anywhere) and with the
  workers' allocator setting (``environment.REUSING_ALLOCATOR``, which spares a fresh
  worker's first training about 270,000 page faults: against this one, the
  **grader's own share** is what grading adds to the same computation). The replay with
  the workers' setting is then run in one process per core, all started together: one
  copy alone divided by their mean is **the machine's own parallel efficiency** on this
  work (both forked from the same process, which replays nothing itself): a grader whose
  slots run it on every core at once can hardly do better (cores share caches, memory
  bandwidth and, on a virtual machine, the host).
- **grade one**: ``autograder grade`` on that one submission, as a fresh command (the
  whole command, and the grading process of the student alone, from ``timings.csv``: from
  its fork to its exit; the fork server, started once per batch, counts in the whole
  command only).
  This is taken ``--repeat`` times (default 5), between bare runs (bare, grade, bare,
  ..., bare), since one run of either varies by several per cent: the overhead is the
  median of the gradings' ratios to the mean of the bare runs just before and just after
  each (so that a machine drifting through the minute moves both sides alike), and the
  lowest and highest of them are printed too, to show the spread.
- **class --jobs 1** and **class --jobs N** (N = cores): a class of ten, one correct
  submission and nine single faults (three per function), with the peak memory (RSS of a
  grading process and its workers) of one grading slot. Both are run ``--class-repeat``
  times (default 3), alternating; the speed-up is the median of the pairs' ratios (with
  two pairs, one slow patch of the machine, which lasts minutes here, decided it).
- **class on Dask**: the same class with ``--cluster local:N`` (a LocalCluster of N
  single-threaded workers), and whether its gradebook equals the local one byte for byte.
- **nbgrader autograde**: when nbgrader is installed, the same ten as a classic nbgrader
  course (``scripts/nbgrader_baseline.py``), and how many of the nine faults each catches.

It prints the times and the ratios (overhead = grade / bare, speed-up and parallel
efficiency, kit against nbgrader) and writes ``DIR/benchmark.csv`` and
``DIR/benchmark.png``. Every command starts in a fresh process and writes to a fresh
folder, so start-up, staging, sandboxes and reports are all counted. Variables of the
machine that choose BLAS kernels or threads or tune the allocator
(``environment.COMPUTE_TUNING``, such as ``OPENBLAS_CORETYPE``) are left out of every
command's environment, since the workers never see them: kept, the bare replays and
nbgrader computed with other kernels than the graded submission (with
``OPENBLAS_CORETYPE=Haswell`` on a processor with AVX-512, the bare calls took 4.5 s where
the workers' took 2.9 s).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import importlib.util
import itertools
import json
import os
import pickle
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

from autograder import environment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
CORRECT = ROOT / "samples" / "class" / "ada_lovelace.py"
FAULTS = ["l2_missing_factor_2", "l2_penalty_uses_abs", "l2_missing_lambda_in_grads",
          "dropout_no_inverse_scaling", "dropout_ignores_training_flag",
          "dropout_keep_drop_swapped", "train_no_l2_grads", "train_lr_folded_into_dZ3",
          "train_w3_updated_before_dA2"]
# The ratios the plot's title shows, as named in the printed table and the CSV.
OVERHEAD = "overhead (grading process of one student / bare)"
OWN_SHARE = "grader's own share (grading process / bare with the workers' allocator)"
EFFICIENCY = "parallel efficiency"
MACHINE = "the machine's own parallel efficiency (one bare replay alone / one per core at once)"


# --- bare: the student's own calls --------------------------------------------------------


Call = tuple[bool, str, tuple, dict]  # (through the substitution worker, function, args, kwargs)


def _record_calls(path: Path) -> list[Call]:
    """Grade ``path`` with the hidden suite and return every call the suite made."""
    from autograder import config, dataset
    from autograder.grading import grade as grading
    from autograder.sandbox import launch as sandbox
    from autograder.sandbox import proxy

    calls: list[Call] = []
    original = proxy.StudentProxy.call

    def recording(self, function, args=(), kwargs=None, timeout=None):
        calls.append((self.substituted is None, function, copy.deepcopy(tuple(args)),
                      copy.deepcopy(dict(kwargs or {}))))
        return original(self, function, args, kwargs, timeout)

    proxy.StudentProxy.call = recording
    settings = config.load()
    assignment = settings.assignment
    with tempfile.TemporaryDirectory() as scratch:
        saved = dataset.saved(assignment, settings, Path(scratch))
        result = grading.grade("bare", path, assignment.hidden_suite, settings,
                               seed=settings.HIDDEN_SEED, slot=0, mode=sandbox.isolation(),
                               data_loader=lambda: assignment.hook("load_saved_data")(saved))
    if result.score != settings.max_score:
        raise SystemExit(f"{path} is not correct ({result.score}); bare needs a correct one")
    return calls


def _load(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _with_known_good(module: types.ModuleType, assignment) -> types.ModuleType:
    """``module`` with the assignment's known-good functions bound in place of its own."""
    namespace: dict = {"__name__": "known_good"}
    exec(compile(assignment.substitutes.read_text(), str(assignment.substitutes), "exec"),  # noqa: S102
         namespace)
    for name in assignment.substituted:
        setattr(module, name, namespace[name])
    return module


def _replay(modules: dict, calls: list[Call]) -> float:
    """Seconds inside ``calls`` replayed on ``modules`` (errors are part of the suite)."""
    seconds = 0.0
    for substituted, function, args, kwargs in calls:
        args, kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
        started = time.perf_counter()
        with contextlib.suppress(Exception):  # the suite also makes calls that must raise
            getattr(modules[substituted], function)(*args, **kwargs)
        seconds += time.perf_counter() - started
    return seconds


def _replay_at_once(modules: dict, calls: list[Call], copies: int) -> list[float]:
    """The replay in ``copies`` forked copies of this process, started together: what the
    machine itself gives that many grading slots running the same work, with no grader
    involved. This process replays nothing itself, so one copy alone and each of several
    at once start from the same memory (a process that has replayed once has its heap
    grown already, and its next replay faults in no pages)."""
    start_read, start_write = os.pipe()
    result_read, result_write = os.pipe()
    children = []
    for _ in range(copies):
        pid = os.fork()
        if pid == 0:  # a copy: wait for the start, replay, report one line, leave
            os.read(start_read, 1)
            os.write(result_write, f"{_replay(modules, calls)}\n".encode())
            os._exit(0)
        children.append(pid)
    os.close(result_write)
    os.write(start_write, b"x" * copies)
    for pid in children:
        os.waitpid(pid, 0)
    with os.fdopen(result_read) as lines:
        seconds = [float(line) for line in lines]
    os.close(start_read)
    os.close(start_write)
    return seconds


def _record_child(path: Path, calls_file: Path) -> None:
    """Record the suite's calls on the submission into ``calls_file`` (a pickle)."""
    with open(calls_file, "wb") as stream:
        pickle.dump(_record_calls(path), stream)


def _bare_child(path: Path, calls_file: Path, copies: int) -> None:
    """Replay the recorded calls on the submission in one copy of this process, then (if
    ``copies``) in that many copies at once; print the seconds."""
    from autograder import config

    with open(calls_file, "rb") as stream:
        calls = pickle.load(stream)  # noqa: S301 - written by this script's own child
    assignment = config.load().assignment
    sys.path[:0] = [*(str(h.parent) for h in assignment.helpers), str(path.parent)]
    modules = {False: _load(path, "bare_submission")}
    if assignment.substitutes:
        modules[True] = _with_known_good(_load(path, "bare_substituted"), assignment)
    alone = _replay_at_once(modules, calls, 1)[0]
    together = _replay_at_once(modules, calls, copies) if copies else []
    print(json.dumps({"seconds": alone, "together": together, "calls": len(calls)}))


def _child(*arguments: str, allocator: bool = False) -> str:
    """Run this script as a child on one thread (and with the workers' allocator setting
    if ``allocator``) with ``arguments``; its standard output."""
    tuning = {**environment.ONE_BLAS_THREAD,
              **(environment.REUSING_ALLOCATOR if allocator else {})}
    result = subprocess.run([sys.executable, __file__, *arguments], cwd=ROOT,
                            capture_output=True, text=True, env={**os.environ, **tuning})
    if result.returncode != 0:
        raise SystemExit(f"bare measurement failed:\n{result.stderr}")
    return result.stdout


def record(path: Path, calls_file: Path) -> None:
    """Record the hidden suite's calls on the correct submission ``path``, once."""
    _child("--record", str(path), "--calls", str(calls_file))


def bare(path: Path, calls_file: Path, *, allocator: bool) -> dict:
    """The bare cost of the recorded calls on ``path``: one process, one thread, with
    glibc's default allocator or (``allocator``) the workers' setting, and then in
    ``together`` the seconds of one replay per core, all run at once (with the workers'
    setting only)."""
    copies = (os.cpu_count() or 1) if allocator else 0
    output = _child("--bare", str(path), "--calls", str(calls_file), "--copies", str(copies),
                    allocator=allocator)
    return json.loads(output.strip().splitlines()[-1])


def bares(path: Path, calls_file: Path) -> dict[str, dict]:
    """The bare replay in a plain process and with the workers' allocator setting."""
    return {kind: bare(path, calls_file, allocator=kind == "workers")
            for kind in ("plain", "workers")}


# --- commands, timed and sampled ------------------------------------------------------------


class ProcessTable:
    """Every process's parent and resident memory, from one pass over ``/proc``.

    A sampler that asked psutil for each process's children read all of ``/proc`` once per
    question: about 2.4 s of CPU in a class run of 42 s at ``--jobs 2``, taken from the
    grading slots it was measuring. One pass per sample costs about 1 ms.
    """

    _PAGE = os.sysconf("SC_PAGE_SIZE")

    def __init__(self) -> None:
        self.rss: dict[int, int] = {}
        self._children: dict[int, list[int]] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as stream:
                    fields = stream.read().rsplit(b")", 1)[1].split()
            except OSError:  # it has just exited
                continue
            pid = int(name)
            self.rss[pid] = int(fields[21]) * self._PAGE  # field 24: resident pages
            self._children.setdefault(int(fields[1]), []).append(pid)  # field 4: parent

    def children(self, pid: int) -> list[int]:
        """The processes whose parent is ``pid``."""
        return self._children.get(pid, [])

    def tree_rss(self, pid: int) -> int:
        """The resident bytes of ``pid`` and all its descendants."""
        return self.rss.get(pid, 0) + sum(self.tree_rss(c) for c in self.children(pid))


def fork_servers(table: ProcessTable, batch: int) -> list[int]:
    """The fork servers among the children of the batch process ``batch``."""
    servers = []
    for pid in table.children(batch):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as stream:
            if b"forkserver" in stream.read():
                servers.append(pid)
    return servers


def slot_rss(table: ProcessTable, servers: list[int]) -> dict[int, int]:
    """Each grading process forked by ``servers``: the RSS of it and its workers, by pid."""
    return {grading: table.tree_rss(grading)
            for server in servers for grading in table.children(server)}


class TreeSampler(threading.Thread):
    """Samples the RSS of each grading process and its workers while a batch runs.

    A grading process is a child of the batch's fork server; its tree's RSS is summed
    (shared library pages are counted in every process, so this is an upper bound).
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peaks, self.done = pid, {}, threading.Event()

    def run(self) -> None:
        servers: list[int] = []
        while not self.done.wait(0.1):
            table = ProcessTable()
            servers = servers or fork_servers(table, self.pid)  # found once, then kept
            for pid, rss in slot_rss(table, servers).items():
                self.peaks[pid] = max(self.peaks.get(pid, 0), rss)


def timed(command: list[str], *, sample: bool = False) -> tuple[float, int]:
    """Wall seconds of ``command`` and, when sampled, the largest grading-slot RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(process.pid) if sample else None
    if sampler:
        sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    if sampler:
        sampler.done.set()
        sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}:\n{stderr}")
    return seconds, max(sampler.peaks.values(), default=0) if sampler else 0


def grade(folder: Path, out: Path, jobs: int, *, sample: bool = False,
          cluster: str = "") -> tuple[float, int]:
    """Time ``autograder grade folder`` into a fresh ``out`` (on ``cluster`` if given)."""
    shutil.rmtree(out, ignore_errors=True)
    where = ["--cluster", cluster] if cluster else ["--jobs", str(jobs)]
    return timed([sys.executable, "-m", "autograder", "grade", str(folder), "--out", str(out),
                  *where], sample=sample)


def caught(gradebook: Path, students: list[str]) -> int:
    """How many of ``students`` lost points in ``gradebook``."""
    with open(gradebook, newline="") as stream:
        rows = {row["student"]: row for row in csv.DictReader(stream)}
    return sum(float(rows[s]["score"]) < float(rows[s]["max_score"]) for s in students)


def student_seconds(out: Path) -> float:
    """The grading process's time of the only student in ``out/timings.csv``."""
    with open(out / "timings.csv", newline="") as stream:
        return float(next(csv.DictReader(stream))["seconds"])


# --- the run ---------------------------------------------------------------------------------


def build_class(folder: Path) -> list[Path]:
    """The class of ten in ``folder``; return the students' files."""
    folder.mkdir(parents=True)
    files = [CORRECT] + [ROOT / "tests" / "kit" / "corpus" / "faulty" / f"{name}.py"
                         for name in FAULTS]
    for path in files:
        shutil.copy(path, folder / path.name)
    return [folder / path.name for path in files]


def measure(scratch: Path, with_nbgrader: bool, repeat: int, class_repeat: int) -> dict:
    """Every measurement of the benchmark, in one run."""
    cores = os.cpu_count() or 1
    found: dict = {"cores": cores}
    one = scratch / "one"
    one.mkdir()
    shutil.copy(CORRECT, one)
    calls = scratch / "calls.pickle"
    record(CORRECT, calls)
    replays, wholes, students = [bares(CORRECT, calls)], [], []
    for _ in range(repeat):  # bare, grade, bare, grade, ..., bare
        wholes.append(grade(one, scratch / "out-one", 1)[0])
        students.append(student_seconds(scratch / "out-one"))
        replays.append(bares(CORRECT, calls))
    for kind in ("plain", "workers"):
        seconds = [replayed[kind]["seconds"] for replayed in replays]
        found[f"bare_{kind}"] = statistics.median(seconds)
        # Each grading against the mean of the bare runs just before and just after it.
        around = [(before + after) / 2 for before, after in itertools.pairwise(seconds)]
        found[f"overhead_{kind}"] = [s / b for s, b in zip(students, around, strict=True)]
    found["grade_one"] = statistics.median(wholes)
    found["grade_one_student"] = statistics.median(students)
    found["machine_efficiency"] = statistics.median(
        r["workers"]["seconds"] / statistics.fmean(r["workers"]["together"]) for r in replays)
    students = build_class(scratch / "class")
    ones, ns, peaks = [], [], []
    for _ in range(class_repeat):  # alternating, so that drift slows both alike
        ones.append(grade(scratch / "class", scratch / "out-j1", 1)[0])
        seconds, peak = grade(scratch / "class", scratch / "out-jn", cores, sample=True)
        ns.append(seconds)
        peaks.append(peak)
    found["class_j1"], found["class_jn"] = statistics.median(ones), statistics.median(ns)
    found["speedup_pairs"] = [j1 / jn for j1, jn in zip(ones, ns, strict=True)]
    found["slot_peak_bytes"] = max(peaks)
    found["class_cluster"], _ = grade(scratch / "class", scratch / "out-dask", cores,
                                      cluster=f"local:{cores}")
    found["cluster_same_gradebook"] = ((scratch / "out-dask" / "gradebook.csv").read_bytes()
                                       == (scratch / "out-jn" / "gradebook.csv").read_bytes())
    faulty = [p.stem for p in students[1:]]
    found["kit_caught"] = caught(scratch / "out-jn" / "gradebook.csv", faulty)
    if with_nbgrader:
        import nbgrader_baseline

        course = nbgrader_baseline.build_course(scratch / "nbgrader", students)
        found["nbgrader"] = nbgrader_baseline.autograde(course)
        totals = nbgrader_baseline.scores(course)
        found["nbgrader_caught"] = sum(totals[name] < 100 for name in faulty)
        found["nbgrader_correct_full"] = totals[CORRECT.stem] == 100
    return found


def ratios(found: dict) -> dict[str, float]:
    """The ratios the README quotes."""
    plain, workers = found["overhead_plain"], found["overhead_workers"]
    efficiency = statistics.median(found["speedup_pairs"]) / found["cores"]
    result = {
        OVERHEAD: statistics.median(plain),
        "overhead, lowest of the single gradings": min(plain),
        "overhead, highest of the single gradings": max(plain),
        "overhead (whole grade command, one student / bare)":
            found["grade_one"] / found["bare_plain"],
        OWN_SHARE: statistics.median(workers),
        "grader's own share, lowest": min(workers),
        "grader's own share, highest": max(workers),
        f"speed-up (--jobs {found['cores']} vs --jobs 1)": statistics.median(
            found["speedup_pairs"]),
        EFFICIENCY: efficiency,
        MACHINE: found["machine_efficiency"],
        "parallel efficiency / the machine's own": efficiency / found["machine_efficiency"],
        f"--cluster local:{found['cores']} / --jobs {found['cores']}":
            found["class_cluster"] / found["class_jn"],
        "seconds per student per core (--jobs N)": found["class_jn"] * found["cores"] / 10,
        "seconds per student per core (--cluster local:N)":
            found["class_cluster"] * found["cores"] / 10,
    }
    if "nbgrader" in found:
        result["nbgrader autograde / kit --jobs 1"] = found["nbgrader"] / found["class_j1"]
        result[f"nbgrader autograde / kit --jobs {found['cores']}"] = (found["nbgrader"]
                                                                      / found["class_jn"])
    return result


def write(found: dict, out: Path) -> None:
    """Print the table and ratios; write them to ``out/benchmark.csv`` and a plot."""
    out.mkdir(parents=True, exist_ok=True)
    cores = found["cores"]
    times = {"bare (suite's calls, 1 thread)": found["bare_plain"],
             "bare, with the workers' allocator setting": found["bare_workers"],
             "grade one correct (grading process)": found["grade_one_student"],
             "grade one correct (whole command)": found["grade_one"],
             "class of 10, --jobs 1": found["class_j1"],
             f"class of 10, --jobs {cores}": found["class_jn"],
             f"class of 10, --cluster local:{cores}": found["class_cluster"]}
    if "nbgrader" in found:
        times["class of 10, nbgrader autograde"] = found["nbgrader"]
    found_ratios = ratios(found)
    rows = [("time_s", name, f"{value:.2f}") for name, value in times.items()]
    rows += [("ratio", name, f"{value:.3f}") for name, value in found_ratios.items()]
    rows.append(("memory_mib", "peak RSS of one grading slot",
                 f"{found['slot_peak_bytes'] / 2**20:.0f}"))
    rows.append(("faults_caught", "kit (of 9)", str(found["kit_caught"])))
    rows.append(("same_gradebook", "--cluster as --jobs", str(found["cluster_same_gradebook"])))
    if "nbgrader" in found:
        rows.append(("faults_caught", "nbgrader (of 9)", str(found["nbgrader_caught"])))
        rows.append(("correct_full_marks", "nbgrader", str(found["nbgrader_correct_full"])))
    with open(out / "benchmark.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["kind", "measure", "value"])
        writer.writerows(rows)
    print(f"machine: {platform.machine()}, {cores} cores, python {platform.python_version()}")
    for kind, name, value in rows:
        print(f"{kind:<18} {name:<55} {value:>9}")
    _plot(times, found_ratios, out / "benchmark.png")


def _plot(times: dict[str, float], found_ratios: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axis = plt.subplots(figsize=(9, 4))
    names = list(times)
    axis.barh(names[::-1], [times[n] for n in names][::-1], color="#4477aa")
    for y, name in enumerate(names[::-1]):
        axis.text(times[name], y, f" {times[name]:.1f} s", va="center", fontsize=8)
    axis.set_xlim(0, max(times.values()) * 1.1)  # room for the longest bar's label
    axis.set_xlabel("wall-clock seconds (medians; overhead: each grading / the bare runs "
                    "around it)")
    axis.set_title(f"overhead {found_ratios[OVERHEAD]:.2f} (grader's own share "
                   f"{found_ratios[OWN_SHARE]:.2f}); parallel efficiency "
                   f"{found_ratios[EFFICIENCY]:.2f} (the machine's own "
                   f"{found_ratios[MACHINE]:.2f})", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    """Run the benchmark (or, with ``--bare FILE``, only the bare replay, as a child)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmark-output")
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs of the bare and one-student measurements (medians)")
    parser.add_argument("--class-repeat", type=int, default=3,
                        help="runs of the class at --jobs 1 and --jobs N (medians)")
    parser.add_argument("--no-nbgrader", action="store_true",
                        help="skip the nbgrader baseline even when nbgrader is installed")
    parser.add_argument("--bare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--record", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--copies", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.record:
        _record_child(args.record.resolve(), args.calls)
        return
    if args.bare:
        _bare_child(args.bare.resolve(), args.calls, args.copies)
        return
    untuned = environment.without_compute_tuning(dict(os.environ))
    removed = sorted(set(os.environ) - set(untuned))
    if removed:  # every command below inherits this environment, as the workers do not
        print(f"left out of every measured command's environment: {', '.join(removed)}")
        os.environ.clear()
        os.environ.update(untuned)
    with_nbgrader = not args.no_nbgrader and shutil.which("nbgrader", path=str(
        Path(sys.executable).parent)) is not None
    with tempfile.TemporaryDirectory(prefix="regkit-benchmark-") as scratch:
        found = measure(Path(scratch), with_nbgrader, max(1, args.repeat),
                        max(1, args.class_repeat))
    write(found, args.out)


if __name__ == "__main__":
    main()

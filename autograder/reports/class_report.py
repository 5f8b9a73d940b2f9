"""The class overview after ``autograder grade``: a short summary on stderr and
``report.html``, one self-contained page (plots embedded as PNG, no outside links).

Everything comes from the files the run wrote (each student's ``results.json`` and
``timings.csv``), so the overview of a resumed run covers every student, not only those
graded last. The page shows: score histograms per function, the pass rate of every test
as a table of bars (the tests most students fail first), the common causes of lost points
with counts, the grading times (a histogram, the same size for any class, and the slowest
students), and the isolation each student was graded under.
"""

from __future__ import annotations

import base64
import csv
import html
import re
import statistics
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from autograder.reports import documents as reports
from autograder.reports.figures import png_drawn_once

REPORT_FILE = reports.REPORT_FILE
TIMINGS_FILE = "timings.csv"
_CAUSE = re.compile(r"^Likely cause:\s*(.+)$", re.MULTILINE)


@dataclass
class ClassData:
    """What the overview needs, read from a run's output folder."""

    results: dict[str, dict]
    functions: tuple[str, ...]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def errors(self) -> dict[str, str]:
        """Students whose submission could not be (fully) graded, with the reason."""
        return {s: r["extra_data"]["error"] for s, r in self.results.items()
                if r["extra_data"].get("error")}

    def scores(self, function: str | None = None) -> list[float]:
        """Every student's total, or their points in ``function``."""
        if function is None:
            return [r["score"] for r in self.results.values()]
        return [r["extra_data"]["per_function"][function] for r in self.results.values()]

    def maximum(self, function: str | None = None) -> float:
        """The most points a student could get (in ``function``), to 2 decimals as the
        points themselves (the tests' shares, 4 decimals each, add up to 24.9998 for 25)."""
        if function is None:
            return max((float(r["extra_data"]["max_score"]) for r in self.results.values()),
                       default=0.0)
        return max((round(sum(t["max_score"] for t in r["tests"] if t["tags"] == [function]), 2)
                    for r in self.results.values()), default=0.0)


def load(out: Path, students: list[str], functions: tuple[str, ...]) -> ClassData:
    """Read the results and timings of ``students`` from ``out``."""
    results = {s: r for s in sorted(students) if (r := reports.read_results(out / s))}
    seconds: dict[str, float] = {}
    path = out / TIMINGS_FILE
    if path.is_file():
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row.get("student") in results:
                    seconds[row["student"]] = float(row["seconds"])
    return ClassData(results, functions, seconds)


def pass_rates(data: ClassData) -> list[tuple[str, int, int]]:
    """``(test, passed, students)`` for every test, the least passed first."""
    passed: Counter = Counter()
    seen: Counter = Counter()
    for result in data.results.values():
        for test in result["tests"]:
            seen[test["name"]] += 1
            passed[test["name"]] += test["status"] == "passed"
    return sorted(((name, passed[name], seen[name]) for name in seen),
                  key=lambda row: (row[1] / row[2], row[0]))


def _cause(test: dict) -> str:
    text = test.get("output", "")
    found = _CAUSE.search(text)
    if found:
        return found.group(1).strip()[:160]
    first = text.strip().splitlines()[0] if text.strip() else "no message"
    return re.sub(r"\b\d+(\.\d+)?\b", "N", first)[:200]


def causes(data: ClassData) -> list[tuple[str, str, int]]:
    """``(function, cause, students)``: why points were lost, most common first, ties by
    function and cause (so that the same class gives the same report every run).

    A cause is the diagnosis's "Likely cause" line when there is one, else the first line
    of the message with numbers blurred, counted once per student.
    """
    counts: Counter = Counter()
    for result in data.results.values():
        mine = {(t["tags"][0] if t.get("tags") else "", _cause(t))
                for t in result["tests"] if t["status"] != "passed"}
        if result["extra_data"].get("error") and not result["tests"]:
            mine.add(("submission", result["extra_data"]["error"].splitlines()[0][:160]))
        counts.update(mine)
    return [(f, c, n) for (f, c), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def summary(data: ClassData, shown: int = 3) -> str:
    """The few lines printed on stderr at the end of a grading run."""
    if not data.results:
        return "no student was graded"
    lines = [f"graded {len(data.results)} student(s); {len(data.errors)} with a problem "
             "in the submission (see report.html)"]
    for function in (None, *data.functions):
        values = data.scores(function)
        lines.append(f"  {function or 'total':<18} mean {statistics.fmean(values):6.2f}  "
                     f"median {statistics.median(values):6.2f}  of "
                     f"{data.maximum(function):g}")
    if data.seconds:
        lines.append("  slowest: " + ", ".join(f"{name} {seconds} s"
                                               for name, seconds in slowest(data, shown)))
    return "\n".join(lines)


# --- Plots ---------------------------------------------------------------------------------


_imports: threading.Thread | None = None
_DPI = 90
_SLOWEST_SHOWN = 10


def _import_matplotlib() -> None:
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401


def prepare() -> None:
    """Import matplotlib for the report's figures on a thread while the class is graded (the
    batch process mostly waits then), so that the report does not wait a second for it
    at the end."""
    global _imports
    if _imports is None:
        _imports = threading.Thread(target=_import_matplotlib, name="class report imports",
                                    daemon=True)
        _imports.start()


def _figure(width: float, height: float, *, left: float) -> object:
    """A figure of ``width`` x ``height`` inches whose margins (``left`` inches for the y
    labels) hold its labels, so that it is drawn once (:func:`png_drawn_once`)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=_DPI)
    figure.subplots_adjust(left=left / width, right=1 - 0.25 / width, bottom=0.6 / height,
                           top=1 - 0.4 / height, wspace=0.35)
    return figure


def _png(figure: object) -> str:
    return base64.b64encode(png_drawn_once(figure, _DPI)).decode("ascii")


def _histograms(data: ClassData) -> str:
    columns = (None, *data.functions)
    figure = _figure(3.5 * len(columns), 3, left=0.7)
    for axis, function in zip(figure.subplots(1, len(columns), squeeze=False)[0], columns,
                              strict=True):
        scores = data.scores(function)
        top = max([data.maximum(function), *scores]) or 1.0  # a full score is in the last bin
        axis.hist(scores, bins=10, range=(0, top), color="#4477aa",
                  edgecolor="white")
        axis.set_title(function or "total")
        axis.set_xlabel(f"points (of {round(top, 2):g})")
        axis.set_ylabel("students")
        axis.yaxis.get_major_locator().set_params(integer=True)
    return _png(figure)


def _timings(data: ClassData) -> str:
    """How many students took how long: one histogram, the same size for any class."""
    figure = _figure(10, 3, left=0.7)
    axis = figure.subplots()
    axis.hist(list(data.seconds.values()), bins=20, color="#aa3377", edgecolor="white")
    axis.set_xlabel("grading time of one student (s)")
    axis.set_ylabel("students")
    axis.yaxis.get_major_locator().set_params(integer=True)
    return _png(figure)


def _figures(data: ClassData) -> dict[str, str]:
    prepare()
    _imports.join()
    images = {"histograms": _histograms(data)}
    if data.seconds:
        images["timings"] = _timings(data)
    return images


def slowest(data: ClassData, count: int = _SLOWEST_SHOWN) -> list[list[str]]:
    """The ``count`` students who took longest, slowest first: name and seconds."""
    worst = sorted(data.seconds.items(), key=lambda kv: (-kv[1], kv[0]))[:count]
    return [[name, f"{seconds:.1f}"] for name, seconds in worst]


# --- The page ------------------------------------------------------------------------------

_STYLE = """body{font-family:sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#eee}img{max-width:100%}
.num{text-align:right}.track{display:inline-block;width:150px;height:.8em;background:#eee;
margin-right:6px}.bar{display:block;height:100%;background:#228833}"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return _table_of(header, body)


def _table_of(header: list[str], body: str) -> str:
    """A table of ``header`` over ``body``, rows already rendered."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    return f"<table><tr>{head}</tr>{body}</table>"


def _pass_rate_row(name: str, passed: int, students: int) -> str:
    rate = f"{100 * passed / students:.0f}%"
    return (f"<tr><td>{html.escape(name)}</td><td class='num'>{passed}</td>"
            f"<td class='num'>{students}</td><td><span class='track'><span class='bar' "
            f"style='width:{rate}'></span></span>{rate}</td></tr>")


def _pass_rate_table(rates: list[tuple[str, int, int]]) -> str:
    """The pass rates as a table with a bar in each row: readable and searchable text, and
    no figure to draw for a class with many tests."""
    return _table_of(["test", "passed", "students", "pass rate"],
                     "".join(_pass_rate_row(*rate) for rate in rates))


def _image(images: dict[str, str], key: str, alt: str) -> str:
    if key not in images:
        return ""
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{images[key]}">'


def page(data: ClassData) -> str:
    """The report as one HTML document."""
    images = _figures(data) if data.results else {}
    isolation = Counter(r["extra_data"].get("isolation", "?") for r in data.results.values())
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Class "
             f"report</title><style>{_STYLE}</style></head><body><h1>Class report</h1>",
             f"<pre>{html.escape(summary(data))}</pre>",
             "<p>Isolation: " + html.escape(", ".join(f"{mode} ({n} students)"
                                                      for mode, n in isolation.items()))
             + ("" if set(isolation) <= {"bubblewrap"} else
                " - without bubblewrap, student code could read what the grader can read.")
             + "</p>",
             "<h2>Scores</h2>", _image(images, "histograms", "score histograms"),
             "<h2>Pass rate of every test (least passed first)</h2>",
             _pass_rate_table(pass_rates(data)),
             "<h2>Common causes of lost points</h2>",
             _table(["function", "cause", "students"], [list(c) for c in causes(data)[:40]]),
             "<h2>Submissions with a problem</h2>",
             _table(["student", "problem"], [[s, e[:300]] for s, e in data.errors.items()]),
             "<h2>Grading time per student</h2>",
             _image(images, "timings", "histogram of grading times"),
             _table(["slowest students", "seconds"], slowest(data)) if data.seconds else "",
             "</body></html>"]
    return "\n".join(parts)


def write(out: Path, students: list[str], functions: tuple[str, ...]) -> tuple[Path, str]:
    """Write ``out/report.html``; return its path and the stderr summary."""
    data = load(out, students, functions)
    path = out / REPORT_FILE
    reports.write_atomically(path, page(data))
    return path, summary(data)

"""``feedback.html`` beside each student's ``feedback.md``: the same feedback as one
self-contained page, for an LMS or nbgrader's feedback folder.

It is rendered from the student's ``results.json``, with every piece of text escaped (a
student's printed output or file name can hold markup). When the assignment declares
training curves (:class:`autograder.assignment.Curves`) and the hidden suite recorded the
student's, the page plots them per epoch against the band correct solutions stay in.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

from autograder.assignment import Assignment, Curves
from autograder.reports import documents as reports
from autograder.reports.figures import png_drawn_once

FEEDBACK_HTML = "feedback.html"
_STYLE = """body{font-family:sans-serif;margin:2em;max-width:900px;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#eee}pre{background:#f6f6f6;padding:8px;white-space:pre-wrap}
img{max-width:100%}"""
_DPI = 90


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def grouped_failures(tests: list[dict]) -> list[tuple[str, str, list[dict]]]:
    """Failed tests grouped by function and identical message, in first-seen order."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for test in tests:
        if test["status"] != "passed":
            function = test["tags"][0] if test.get("tags") else ""
            groups.setdefault((function, test.get("output", "")), []).append(test)
    return [(f, message, members) for (f, message), members in groups.items()]


def band(curves: Curves) -> dict | None:
    """The per-epoch range correct solutions stay in, if calibrated."""
    try:
        return json.loads(curves.band.read_text(encoding="utf-8")) if curves.band else None
    except (OSError, ValueError):
        return None


def _curves_png(declared: Curves, curves: dict[str, list[float]], band: dict | None) -> str:
    from matplotlib.figure import Figure

    width = 5 * len(curves)
    figure = Figure(figsize=(width, 3.2), dpi=_DPI)
    # Margins wide enough for the labels, so that the figure is drawn once and cropped
    # (savefig's bbox_inches="tight" draws it twice).
    figure.subplots_adjust(left=0.9 / width, right=1 - 0.3 / width, bottom=0.7 / 3.2,
                           top=1 - 0.5 / 3.2, wspace=0.25)
    axes = figure.subplots(1, len(curves), squeeze=False)
    for axis, (label, losses) in zip(axes[0], sorted(curves.items()), strict=True):
        epochs = list(range(1, len(losses) + 1))
        expected = (band or {}).get(label)
        if expected and len(expected["low"]) == len(losses):
            axis.fill_between(epochs, expected["low"], expected["high"], color="#bbccee",
                              label="correct training (range)")
        axis.plot(epochs, losses, marker="o", color="#cc3311", label=declared.series)
        axis.set_title(f"{declared.plot_title} ({label})")
        axis.set_xlabel("epoch")
        axis.xaxis.get_major_locator().set_params(integer=True)  # no epoch 2.5
        axis.set_ylabel("loss")
        axis.legend(fontsize=8)
    return base64.b64encode(png_drawn_once(figure, _DPI)).decode("ascii")


def page(results: dict, assignment: Assignment) -> str:
    """The feedback page of one student from their results document."""
    extra = results["extra_data"]
    tests = results["tests"]
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Feedback for "
             f"{_e(extra['student'])}</title><style>{_STYLE}</style></head><body>",
             f"<h1>Feedback for {_e(extra['student'])}</h1>",
             f"<p><strong>Score: {results['score']:g} / {extra['max_score']:g}</strong></p>"]
    if extra.get("error"):
        parts += ["<h2>Problem with the submission</h2>", f"<pre>{_e(extra['error'])}</pre>"]
    if tests:
        rows = []
        for function in assignment.functions:
            mine = [t for t in tests if t.get("tags") == [function]]
            worth = sum(t["max_score"] for t in mine)
            passed = sum(t["status"] == "passed" for t in mine)
            rows.append(f"<tr><td><code>{function}</code></td><td>"
                        f"{extra['per_function'][function]:g} / {round(worth, 2):g}</td>"
                        f"<td>{passed} / {len(mine)}</td></tr>")
        parts.append("<table><tr><th>function</th><th>points</th><th>tests passed</th></tr>"
                     + "".join(rows) + "</table>")
    declared = assignment.curves
    curves = (extra.get(declared.key) or {}) if declared else {}
    if curves:
        parts += [f"<h2>{declared.heading}</h2>", f"<p>{declared.intro}</p>",
                  f'<img alt="{_e(declared.alt)}" '
                  f'src="data:image/png;base64,{_curves_png(declared, curves, band(declared))}">']
    failures = grouped_failures(tests)
    if failures:
        parts.append("<h2>What lost points</h2>")
        for function, message, members in failures:
            lost = sum(t["max_score"] for t in members)
            title = (members[0]["name"] if len(members) == 1
                     else f"{function}: {len(members)} tests with the same problem")
            parts.append(f"<h3>{_e(title)} (-{lost:.2f} points)</h3>")
            if len(members) > 1:
                parts.append("<ul>" + "".join(f"<li>{_e(t['name'])}</li>" for t in members)
                             + "</ul>")
            parts.append(f"<pre>{_e(message)}</pre>")
    elif tests:
        parts.append("<p>Every test passed. Well done!</p>")
    if extra.get("notes"):
        parts += ["<h2>Not graded</h2><p>These parts of your submission were not run when "
                  "grading (only imports, functions, classes and constants are):</p><ul>",
                  "".join(f"<li>{_code_spans(_e(n))}</li>" for n in extra["notes"][:50]),
                  "</ul>"]
    parts.append("</body></html>")
    return "\n".join(parts)


def _code_spans(escaped: str) -> str:
    """Escaped note text with its `backtick` spans (the notes' Markdown) as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


def write_student(result: reports.GradeResult, folder: Path, assignment: Assignment,
                  fingerprint: str = "") -> None:
    """Write a student's ``feedback.md``, ``feedback.html`` and, last, ``results.json``
    (which marks the student done). Each grading process writes its own student's pages,
    so rendering runs in parallel with the rest of the class."""
    document = json.loads(reports.results_text(reports.results_json(result, fingerprint)))
    reports.write_atomically(folder / reports.FEEDBACK_FILE, reports.feedback_markdown(result))
    reports.write_atomically(folder / FEEDBACK_HTML, page(document, assignment))
    reports.write_atomically(folder / reports.RESULTS_FILE, reports.results_text(document))

"""What ``autograder grade`` writes for the whole class besides the gradebook, and the LMS
export: ``tests.csv``, ``report.html`` (opened in headless Chromium: the screenshot is not
blank and every plot loaded), ``feedback.html`` (student text escaped), and
``autograder export canvas`` joined against a roster with missing and extra students."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib import image

from assignments.regularization.assignment import SAMPLES as SAMPLE_CLASS
from autograder import cli
from autograder.assignment import load as load_assignment
from autograder.grading import submission
from autograder.paths import PROJECT_DIR
from autograder.platforms import lms

ASSIGNMENT = load_assignment("regularization")
STUDENTS = ("ada_lovelace", "alan_turing", "barbara_liskov", "claude_shannon")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    folder = tmp_path_factory.mktemp("class")
    for name in STUDENTS:
        shutil.copyfile(SAMPLE_CLASS / f"{name}.py", folder / f"{name}.py")
    # a student whose printed output carries markup, for the escaping checks
    source = (SAMPLE_CLASS / "ada_lovelace.py").read_text()
    (folder / "mallory.py").write_text(source + """

def l2_regularization(weights, lambda_):
    print("<script>alert(1)</script>")
    raise ValueError("<img src=x onerror=alert(2)>")
""")
    out = tmp_path_factory.mktemp("out")
    done = run("grade", str(folder), "--out", str(out), "--suite", "public", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    return out, done


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: install the Debian package 'chromium' (.ci/run does)"
    return found


def test_summary_on_stderr(graded) -> None:
    _, done = graded
    assert "graded 5 student(s); 1 with a problem" in done.stderr, done.stderr
    for function in ("total", "l2_regularization", "dropout", "train_mlp"):
        assert f"  {function}" in done.stderr
    assert "slowest:" in done.stderr and "report.html" in done.stderr


def test_tests_csv_has_one_row_per_student_and_test(graded) -> None:
    out, _ = graded
    rows = list(csv.DictReader((out / "tests.csv").open(newline="")))
    assert list(rows[0]) == ["student", "test", "function", "points", "max_points", "status"]
    ada = [r for r in rows if r["student"] == "ada_lovelace"]
    turing = [r for r in rows if r["student"] == "alan_turing"]
    assert ada and len(ada) == len(turing)
    assert all(r["status"] == "passed" and r["points"] == r["max_points"] for r in ada)
    assert all(r["status"] == "failed" and r["points"] == "0" for r in turing)
    assert not [r for r in rows if r["student"] == "barbara_liskov"]  # nothing could run
    gradebook = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    for student in ("ada_lovelace", "claude_shannon"):
        earned = sum(float(r["points"]) for r in rows if r["student"] == student)
        assert earned == pytest.approx(float(gradebook[student]["score"]), abs=0.01)


def open_in_chromium(page: Path, tmp_path: Path) -> tuple[object, list[str]]:
    """Screenshot ``page`` and report, for each of its images, whether it decoded."""
    shot = tmp_path / f"{page.stem}.png"
    common = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    done = subprocess.run([*common, "--window-size=1280,2000", f"--screenshot={shot}",
                           page.as_uri()], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    # a copy of the page that records naturalWidth of each <img> once loaded
    probe = tmp_path / f"{page.stem}-probe.html"
    probe.write_text(page.read_text().replace(
        "</body>", "<script>document.body.setAttribute('data-loaded', [...document.images]"
                   ".map(i => i.complete && i.naturalWidth > 0).join(','))</script></body>"))
    dom = subprocess.run([*common, "--virtual-time-budget=5000", "--dump-dom",
                          probe.as_uri()], capture_output=True, text=True, timeout=120,
                         check=False).stdout
    loaded = dom.split('data-loaded="', 1)[1].split('"', 1)[0].split(",")
    return image.imread(shot)[..., :3], loaded


def test_report_opens_in_chromium_with_its_plots(graded, tmp_path: Path) -> None:
    out, _ = graded
    page = (out / "report.html").read_text()
    assert "http://" not in page and "https://" not in page  # self-contained
    assert page.count("data:image/png;base64,") == 2  # the histograms and the times
    assert "<script" not in page  # no script, and no student text unescaped
    pixels, loaded = open_in_chromium(out / "report.html", tmp_path)
    assert pixels.std() > 0.1  # not a blank page
    assert (pixels.sum(axis=2) < 2.5).mean() > 0.05  # text and plots cover the page
    assert len(loaded) == page.count("<img ") and set(loaded) == {"true"}, loaded


def test_report_shows_pass_rates_causes_times_and_isolation(graded) -> None:
    out, _ = graded
    page = (out / "report.html").read_text()
    for heading in ("Pass rate of every test", "Common causes of lost points",
                    "Grading time per student", "Isolation:", "Submissions with a problem"):
        assert heading in page
    assert "is not implemented yet" in page  # the stub's cause, counted
    rates = page.split("Pass rate of every test", 1)[1].split("<h2>", 1)[0]
    assert rates.count("<span class='bar' style='width:") == rates.count("<tr>") - 1 > 30
    assert "barbara_liskov.py has a syntax error" in page


def test_feedback_html_escapes_student_text(graded) -> None:
    out, _ = graded
    page = (out / "mallory" / "feedback.html").read_text()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)" in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    feedback = (out / "mallory" / "feedback.md").read_text()  # tracebacks name their file
    assert 'File "mallory.py"' in feedback and 'File "regularization.py"' not in feedback
    turing = (out / "alan_turing" / "feedback.html").read_text()
    assert "Score: 0 / 100" in turing and "tests with the same problem" in turing
    assert (out / "ada_lovelace" / "feedback.html").read_text().count("Every test passed") == 1


ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section
    Points Possible,,,,
"Lovelace, Ada",00123,000456,ada_lovelace,Section A
"Turing, Alan",124,457,ALAN_TURING,Section B
"Hopper, Grace",125,458,grace_hopper,Section A
"Student, Test",999,,,
"""


def test_canvas_export_joins_on_the_key_and_lists_who_is_missing(graded,
                                                                 tmp_path: Path) -> None:
    out, _ = graded
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    target = tmp_path / "canvas.csv"
    done = run("export", "canvas", "--gradebook", str(out / "gradebook.csv"), "--roster",
               str(roster), "--out", str(target))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(target.read_text())))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       "Regularization"]
    assert rows[1][0].strip() == "Points Possible" and rows[1][5] == "100"
    assert rows[2] == ["Lovelace, Ada", "00123", "000456", "ada_lovelace", "Section A", "100"]
    assert rows[3][:4] == ["Turing, Alan", "124", "457", "ALAN_TURING"] and rows[3][5] == "0"
    assert rows[4][0] == "Hopper, Grace" and rows[4][5] == ""  # not graded: left empty
    assert len(rows) == 5  # Canvas's test student is not exported
    assert "without a graded submission" in done.stderr and "grace_hopper" in done.stderr
    for extra in ("barbara_liskov", "claude_shannon", "mallory"):
        assert extra in done.stderr.split("not in the roster")[1]


def test_canvas_export_problems_are_named(graded, tmp_path: Path) -> None:
    out, _ = graded
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    bad_key = run("export", "canvas", "--gradebook", str(out / "gradebook.csv"), "--roster",
                  str(roster), "--out", str(tmp_path / "c.csv"), "--key", "Email")
    assert bad_key.returncode == 2 and "no column 'Email'" in bad_key.stderr
    missing = run("export", "canvas", "--gradebook", str(tmp_path / "none.csv"), "--roster",
                  str(roster), "--out", str(tmp_path / "c.csv"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    folder = run("export", "canvas", "--gradebook", str(out / "gradebook.csv"), "--roster",
                 str(roster), "--out", str(tmp_path))
    assert folder.returncode == 2 and "is a folder" in folder.stderr
    twice = tmp_path / "twice.csv"
    twice.write_text(ROSTER + '"Again, Ada",126,459,ada_lovelace,Section C\n')
    dup = run("export", "canvas", "--gradebook", str(out / "gradebook.csv"), "--roster",
              str(twice), "--out", str(tmp_path / "c.csv"))
    assert dup.returncode == 2 and "appears twice" in dup.stderr
    assert "Traceback" not in bad_key.stderr + missing.stderr + folder.stderr + dup.stderr



def export(tmp_path: Path, capsys: pytest.CaptureFixture, roster: str,
           scores: dict[str, str], *options: str) -> tuple[int, str, Path]:
    """Run ``autograder export canvas`` in this process on a gradebook of ``scores`` (out
    of 100) and ``roster``: the exit code, stderr and the CSV file it was told to write."""
    gradebook = tmp_path / "gradebook.csv"
    gradebook.write_text("student,score,max_score\n"
                         + "".join(f"{name},{score},100\n" for name, score in scores.items()))
    (tmp_path / "roster.csv").write_text(roster)
    target = tmp_path / "canvas.csv"
    code = cli.main(["export", "canvas", "--gradebook", str(gradebook), "--roster",
                     str(tmp_path / "roster.csv"), "--out", str(target), "--assignment",
                     "Regularization", *options])
    return code, capsys.readouterr().err, target


def canvas_rows(target: Path) -> list[list[str]]:
    """The student rows of a Canvas import file (after the header and Points Possible)."""
    return list(csv.reader(io.StringIO(target.read_text())))[2:]


HEADER = "Student,ID,SIS User ID,SIS Login ID,Section\n"


def test_student_key_is_the_name_the_grader_gives_a_file(tmp_path: Path) -> None:
    stems = ["j.doe", "ada@uni.edu", "Zoë Ünï", "o'brien-2", "ALAN_TURING"]
    for stem in stems:
        (tmp_path / f"{stem}.py").write_text("x = 1\n")
    graded = sorted(student for student, _ in submission.discover(tmp_path, ASSIGNMENT))
    assert graded == sorted(["j_doe", "ada_uni_edu", "Zoë_Ünï", "o_brien-2", "ALAN_TURING"])
    assert sorted(lms.student_key(stem) for stem in stems) == sorted(
        name.casefold() for name in graded)


def test_canvas_export_matches_logins_the_grader_renamed(tmp_path: Path, capsys) -> None:
    roster = HEADER + '"Doe, J.",1004,126,j.doe,B\n"Ada",1001,123, ada@uni.edu ,A\n'
    code, err, target = export(tmp_path, capsys, roster, {"j_doe": "90", "ada_uni_edu": "100"})
    assert code == 0, err
    assert canvas_rows(target) == [["Doe, J.", "1004", "126", "j.doe", "B", "90"],
                                   ["Ada", "1001", "123", " ada@uni.edu ", "A", "100"]]
    assert "without a graded submission" not in err and "not in the roster" not in err


def test_canvas_export_refuses_two_logins_that_name_one_student(tmp_path: Path,
                                                                capsys) -> None:
    roster = HEADER + "Jane,1,1,j.doe,A\nJohn,2,2,J_Doe,A\n"
    code, err, target = export(tmp_path, capsys, roster, {"j_doe": "90"})
    assert code == 2 and not target.exists()
    assert err.startswith(f"autograder: roster {tmp_path / 'roster.csv'}: student 'j_doe' "
                          "appears twice in column 'SIS Login ID', as 'j.doe' and 'J_Doe' ")


def test_canvas_export_matches_bulk_download_names_on_the_canvas_id(tmp_path: Path,
                                                                    capsys) -> None:
    roster = (HEADER + "Ada,1001,123,ada_lovelace,A\nDan,1002,124,dan_obrien,A\n"
              "Zoe,1003,125,zoe_unicode,B\n")
    scores = {"lovelaceada_1001_555_regularization": "100",
              "unicodezoe_LATE_1003_556_regularization-1": "87.5",
              "stranger_77_1_regularization": "10"}
    code, err, target = export(tmp_path, capsys, roster, scores)
    assert code == 0, err
    assert [row[1::4] for row in canvas_rows(target)] == [["1001", "100"], ["1002", ""],
                                                          ["1003", "87.5"]]
    assert err.endswith("not in the roster (not exported; check --key 'SIS Login ID'): "
                        "stranger_77_1_regularization\n")


@pytest.mark.parametrize(("rows", "problem"), [
    ('"Lovelace, Ada",1001,123\n', "3 value(s) where the header has 5"),
    ('"Zoe,1003,125,zoe_unicode,B\n', "cannot be read as CSV (unexpected end of data), "
                                        "probably an unbalanced double quote"),
])
def test_canvas_export_names_the_line_of_a_malformed_roster(tmp_path: Path, capsys,
                                                            rows: str, problem: str) -> None:
    roster = HEADER + "Ada,1001,123,ada_lovelace,A\n" + rows
    code, err, target = export(tmp_path, capsys, roster, {"ada_lovelace": "100"})
    assert code == 2 and not target.exists() and "Traceback" not in err
    assert err.startswith(f"autograder: roster {tmp_path / 'roster.csv'}, line 3: {problem}")
    assert "fix that line, or export the file again." in err


def test_canvas_export_skips_rows_without_a_key(tmp_path: Path, capsys) -> None:
    roster = ("Student,ID,SIS User ID,SIS Login ID,Section,Regularization (1234)\n"
              "    Manual Posting,,,,,Manual Posting\n    Points Possible,,,,,100\n"
              ",,,,,\nAda,1001,123,ada_lovelace,A,\n")
    code, err, target = export(tmp_path, capsys, roster, {"ada_lovelace": "100"})
    assert code == 0, err
    assert canvas_rows(target) == [["Ada", "1001", "123", "ada_lovelace", "A", "100"]]
    assert err.splitlines()[1:] == [
        "2 roster row(s) skipped, their 'SIS Login ID' cell being empty (Canvas's 'Manual "
        "Posting' row, or students without one): Manual Posting"]


def test_canvas_export_refuses_when_nothing_matches(tmp_path: Path, capsys) -> None:
    roster = HEADER + "Ada,1001,123,ada_lovelace,A\nDan,1002,124,dan_obrien,A\n"
    code, err, target = export(tmp_path, capsys, roster,
                               {"s1": "100", "s2": "90", "s3": "80"})
    assert code == 2 and not target.exists()
    assert err == (f"autograder: no roster student matched a graded student: roster "
                   f"{tmp_path / 'roster.csv'} was matched on its column 'SIS Login ID', "
                   "which holds 'ada_lovelace', 'dan_obrien', while the gradebook's students "
                   "are 's1', 's2'. Pass --key with the roster column that holds the names "
                   "the submissions were graded under (their file names); nothing was "
                   "written.\n")



def test_feedback_html_plots_the_students_mnist_training(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run("grade", str(SAMPLE_CLASS / "ada_lovelace.py"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "ada_lovelace" / "results.json").read_text())
    curves = results["extra_data"]["mnist_loss"]
    assert set(curves) == {"plain", "regularized"}
    assert all(len(losses) == 20 and losses[-1] < losses[0] for losses in curves.values())
    band = json.loads((PROJECT_DIR / "calibration" / "mnist_loss_band.json").read_text())
    for label, losses in curves.items():  # the reference's own seed pair lies in its band
        assert all(lo - 1e-6 <= x <= hi + 1e-6 for x, lo, hi in
                   zip(losses, band[label]["low"], band[label]["high"], strict=True))
    page = out / "ada_lovelace" / "feedback.html"
    assert "Your training on MNIST" in page.read_text()
    pixels, loaded = open_in_chromium(page, tmp_path)
    assert loaded == ["true"]
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    curve = (red > 0.6) & (green < 0.35) & (blue < 0.3)  # the student's curve, drawn in red
    assert curve.sum() > 500


def test_feedback_plots_are_cropped_as_a_tight_savefig_would_crop_them() -> None:
    import struct

    from matplotlib.figure import Figure

    from autograder.reports import figures

    def size(png: bytes) -> tuple[int, int]:
        return struct.unpack(">II", png[16:24])

    def figure(label: str) -> Figure:
        made = Figure(figsize=(5, 3.2), dpi=90)
        made.subplots_adjust(left=0.18, right=0.94, bottom=0.22, top=0.84)
        axis = made.subplots()
        axis.plot([1, 2, 3], [3.0, 2.0, 1.5], marker="o")
        axis.set_title("loss")
        axis.set_ylabel(label)
        return made

    for label in ("loss", "a label far too long to fit left of the axes " * 3):
        tight = io.BytesIO()
        figure(label).savefig(tight, format="png", dpi=90, bbox_inches="tight")
        once = figures.png_drawn_once(figure(label), 90)
        assert all(abs(a - b) <= 2 for a, b in zip(size(once), size(tight.getvalue()),
                                                   strict=True)), (label, size(once))


def test_a_figure_within_its_margins_is_laid_out_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking a figure for its tight box lays every tick label out again (about a fifth
    of a feedback plot's time): the crop is read from the drawn pixels instead."""
    from matplotlib.figure import Figure

    from autograder.reports import figures

    made = Figure(figsize=(5, 3.2), dpi=90)
    made.subplots_adjust(left=0.18, right=0.94, bottom=0.22, top=0.84)
    made.subplots().plot([1, 2, 3], [3.0, 2.0, 1.5], marker="o")
    measured: list[object] = []
    original = Figure.get_tightbbox
    monkeypatch.setattr(Figure, "get_tightbbox",
                        lambda self, *a, **k: measured.append(self) or original(self, *a, **k))
    assert figures.png_drawn_once(made, 90).startswith(b"\x89PNG")
    assert measured == []


def test_feedback_html_shows_the_code_of_notes_as_code() -> None:
    from autograder import config as config_module
    from autograder.reports import feedback_html

    stored = (Path(__file__).parent / "corpus" / "stored" / "samples" / "class" / "grace_hopper"
              / "results.json")
    document = json.loads(stored.read_text())
    page = feedback_html.page(document, config_module.load().assignment)
    notes = page.split("<h2>Not graded</h2>", 1)[1]
    assert "<code>data = load_mnist()</code> - top-level code" in notes
    assert "`" not in notes

"""The Gradescope autograder as Gradescope runs it, on a fake ``/autograder`` tree.

``autograder gradescope build`` writes the zip; the test unzips it into ``ROOT/source``,
runs its ``setup.sh`` (everything but apt-get, which CI has already done: a fresh
virtual environment with the kit installed from the zip, not from this checkout), then
for each upload in ``tests/kit/corpus/gradescope`` copies it to ``ROOT/submission`` and
runs ``run_autograder`` with ``AUTOGRADER_ROOT=ROOT``. Every ``results.json`` is checked
against a JSON Schema of Gradescope's results format, then field by field.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from autograder import config as config_module
from autograder.grading.grade import GradeResult
from autograder.grading.pytest_plugin import Outcome
from autograder.grading.scoring import score_tests
from autograder.paths import PROJECT_DIR
from autograder.platforms import gradescope
from autograder.reports import documents

CORPUS = Path(__file__).parent / "corpus" / "gradescope"
SETUP_TIMEOUT_S = 900
RUN_TIMEOUT_S = 700

VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
RESULTS_SCHEMA = {
    "type": "object",
    "required": ["score", "output", "tests", "execution_time", "visibility"],
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number", "minimum": 0},
        "execution_time": {"type": "integer", "minimum": 0},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "test_output_format": FORMAT,
        "test_name_format": FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["score", "max_score", "name", "output", "visibility", "status"],
                "additionalProperties": False,
                "properties": {
                    "score": {"type": "number", "minimum": 0},
                    "max_score": {"type": "number", "minimum": 0},
                    "status": {"enum": ["passed", "failed"]},
                    "name": {"type": "string", "minLength": 1},
                    "number": {"type": "string"},
                    "output": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "visibility": VISIBILITY,
                    "extra_data": {"type": "object"},
                },
            },
        },
    },
}


@pytest.fixture(scope="session")
def built_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("zip") / "autograder.zip"
    done = subprocess.run([sys.executable, "-m", "autograder", "gradescope", "build",
                           str(target)], cwd=PROJECT_DIR, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    return target


@pytest.fixture(scope="session")
def source(built_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The zip unpacked and set up as Gradescope does, in ``ROOT/source``."""
    folder = tmp_path_factory.mktemp("autograder") / "source"
    with zipfile.ZipFile(built_zip) as archive:
        archive.extractall(folder)
    for script in ("setup.sh", "run_autograder"):
        (folder / script).chmod(0o755)
    env = {**os.environ, "REGKIT_NO_APT": "1", "REGKIT_PYTHON": sys.executable}
    done = subprocess.run(["bash", str(folder / "setup.sh")], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=SETUP_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return folder


def run_upload(source: Path, upload: Path | None, tmp_path: Path) -> dict:
    """Run ``run_autograder`` on a fresh tree whose submission is a copy of ``upload``."""
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "source").symlink_to(source)
    if upload is not None:
        shutil.copytree(upload, root / "submission", symlinks=True, dirs_exist_ok=True)
    shutil.copyfile(source / "run_autograder", root / "run_autograder")
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIRTUAL")}
    done = subprocess.run(["bash", str(root / "run_autograder")], cwd=root,
                          env={**env, "AUTOGRADER_ROOT": str(root)}, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, RESULTS_SCHEMA)
    return results


def counted(results: dict) -> list[dict]:
    return [t for t in results["tests"] if not t["name"].startswith("public check")]


def assert_exact_points(results: dict) -> None:
    """Points per function add up to the config's, the total to 100, scores to the score."""
    points = config_module.load().POINTS
    for function, worth in points.items():
        mine = [t for t in counted(results) if t["tags"] == [function]]
        assert round(sum(t["max_score"] for t in mine), 9) == worth
    assert all(t["max_score"] == 0 for t in results["tests"] if t not in counted(results))
    assert round(sum(t["score"] for t in results["tests"]), 9) == results["score"]
    for test in results["tests"]:
        assert test["score"] == (test["max_score"] if test["status"] == "passed" else 0)
        assert round(test["max_score"], 2) == test["max_score"]


def assert_gradebook_points(results: dict, per_function: dict[str, float]) -> None:
    """The counted tests add up, to the cent, to the gradebook's points of each function,
    and all tests to the score."""
    for function, graded in per_function.items():
        mine = [t for t in counted(results) if t["tags"] == [function]]
        assert round(sum(t["score"] for t in mine) * 100) == round(graded * 100), function
    assert round(sum(t["score"] for t in results["tests"]) * 100) == round(
        results["score"] * 100)


def test_zip_holds_the_scripts_and_the_kit(built_zip: Path) -> None:
    with zipfile.ZipFile(built_zip) as archive:
        names = set(archive.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
    assert {"setup.sh", "run_autograder", "kit/grader_config.py", "kit/pyproject.toml",
            "kit/autograder/cli.py",
            "kit/assignments/regularization/tests/hidden/test_hidden_train.py",
            "kit/assignments/regularization/tests/public/test_public.py",
            "kit/assignments/regularization/grader/reference.py",
            "kit/assignments/regularization/nn_helpers.py"} <= names
    assert not any(n.startswith(("kit/tests/kit", "kit/samples", "kit/.venv")) or
                   "__pycache__" in n for n in names)
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111


def test_renamed_nested_notebook_with_helper_scores_full_marks(source: Path,
                                                              tmp_path: Path) -> None:
    results = run_upload(source, CORPUS / "renamed_nested_notebook", tmp_path)
    assert results["score"] == 100, results["output"]
    assert "Homework 4/Regularization (1).ipynb" in results["output"]
    assert_exact_points(results)
    public = [t for t in results["tests"] if t not in counted(results)]
    assert public and all(t["visibility"] == "visible" for t in public)
    assert all(t["visibility"] == "after_published" for t in counted(results))
    assert results["extra_data"]["kind"] == "folder"
    assert results["execution_time"] < gradescope.settings(config_module.load()).budget_s


def test_faulty_submission_loses_points_with_explanations(source: Path,
                                                          tmp_path: Path) -> None:
    results = run_upload(source, CORPUS / "faulty_renamed", tmp_path)
    assert 0 < results["score"] < 100
    assert_exact_points(results)
    failed = [t for t in counted(results) if t["status"] == "failed"]
    assert failed and all(t["output"].strip() for t in failed)
    assert_gradebook_points(results, results["extra_data"]["per_function"])


def test_solution_found_by_its_functions_among_helpers(source: Path, tmp_path: Path) -> None:
    results = run_upload(source, CORPUS / "stray_copies", tmp_path)
    assert results["score"] == 100, results["output"]
    assert "Graded solution.py" in results["output"]
    assert_exact_points(results)


def test_syntax_error_names_the_students_file(source: Path, tmp_path: Path) -> None:
    results = run_upload(source, CORPUS / "syntax_error", tmp_path)
    assert results["score"] == 0 and results["tests"] == []
    assert "syntax error on line 11" in results["output"]
    assert "python my_regularization.py" in results["output"]


def test_upload_without_code_says_what_to_upload(source: Path, tmp_path: Path) -> None:
    results = run_upload(source, CORPUS / "no_code", tmp_path)
    assert results["score"] == 0 and results["tests"] == []
    assert "report.pdf" in results["output"]
    assert "Upload regularization.py or regularization.ipynb" in results["output"]


def test_empty_upload_and_symlink_only(source: Path, tmp_path: Path) -> None:
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "regularization.py").symlink_to("/etc/passwd")
    results = run_upload(source, upload, tmp_path)
    assert results["score"] == 0
    assert "no .py or .ipynb file" in results["output"]


def test_results_written_when_the_grader_cannot_start(source: Path, tmp_path: Path) -> None:
    """No virtual environment (setup failed): the script itself writes the results."""
    broken = tmp_path / "broken_source"
    broken.mkdir()
    shutil.copyfile(source / "run_autograder", broken / "run_autograder")
    results = run_upload(broken, CORPUS / "faulty_renamed", tmp_path)
    assert results["score"] == 0 and results["tests"] == []
    assert "could not be graded" in results["output"]
    assert "tell the course staff" in results["output"]


@pytest.mark.parametrize(("shares", "total"), [
    ([4, 3, 3, 3, 1, 1, 2, 2, 2, 1, 6, 6], 45), ([1, 1, 1], 25), ([2, 2, 1, 1, 1], 30),
    ([1], 0), ([1e-9, 1, 1], 10)])
def test_apportioned_points_add_up_exactly(shares: list[float], total: float) -> None:
    points = gradescope.apportion(shares, total)
    assert round(sum(points) * 100) == round(total * 100)
    assert all(abs(p - s * total / sum(shares)) <= 0.01
               for p, s in zip(points, shares, strict=True))


def test_invalid_gradescope_settings_are_named(tmp_path: Path) -> None:
    config = tmp_path / "grader_config.py"
    config.write_text((PROJECT_DIR / "grader_config.py").read_text()
                      + "\nGRADESCOPE_VISIBILITY = {'public': 'shown', 'hidden': 'hidden'}\n")
    with pytest.raises(config_module.ConfigError, match="GRADESCOPE_VISIBILITY"):
        gradescope.settings(config_module.load(config))
    config.write_text((PROJECT_DIR / "grader_config.py").read_text()
                      + "\nGRADESCOPE_TIME_LIMIT_S = 60\n")
    with pytest.raises(config_module.ConfigError, match="leaves no time"):
        gradescope.settings(config_module.load(config))


# The hidden tests of samples/class/claude_shannon.py: (function, weight, passed). Rounded
# one by one, the passed l2_regularization tests (7 of its 14 weights of 25 points) add
# up to 12.49 where the gradebook says 12.5, and the total to 87.49 instead of 87.5.
SHANNON = ([("dropout", w, True) for w in (4, 2, 2, 1, 1, 1, 2, 2, 1, 2, 2, 2, 2, 2, 1, 1, 2)]
           + [("l2_regularization", w, p) for w, p in (
               (3, False), (2, False), (1, False), (1, True), (1, True), (1, False),
               (1, True), (1, True), (1, True), (2, True))]
           + [("train_mlp", w, True) for w in (4, 3, 3, 3, 1, 1, 1, 1, 1, 2, 2, 2, 1, 6, 6)])


def gradebook_document(tests: list[tuple[str, float, bool]]) -> dict:
    """The kit's own results document (the gradebook's numbers) for these tests."""
    config = config_module.load()
    outcomes = [Outcome(f"t{i}", f"test {i}", function, weight, passed,
                        "" if passed else "wrong")
                for i, (function, weight, passed) in enumerate(tests)]
    result = GradeResult("student", "file", "none", config.max_score,
                         score_tests(outcomes, config), functions=config.functions)
    return documents.results_json(result, "fingerprint")


def gradescope_results(hidden: dict) -> dict:
    config = config_module.load()
    upload = gradescope.Prepared(Path("submission"), "regularization.py", "regularization.py",
                                 [])
    return gradescope.results(hidden, hidden, config, gradescope.settings(config), upload)


def test_fractional_points_add_up_to_the_gradebooks() -> None:
    hidden = gradebook_document(SHANNON)
    assert hidden["score"] == 87.5
    assert hidden["extra_data"]["per_function"]["l2_regularization"] == 12.5
    results = gradescope_results(hidden)
    assert results["score"] == 87.5
    assert_gradebook_points(results, hidden["extra_data"]["per_function"])
    assert_exact_points(results)


@pytest.mark.parametrize("seed", range(40))
def test_random_weights_and_outcomes_add_up_to_the_gradebooks(seed: int) -> None:
    """Whatever the weights and outcomes, Gradescope shows the gradebook's points, a
    passed test its full marks, and no test's points are more than a cent off its share."""
    draw = random.Random(seed)
    tests = [(function, draw.choice((1, 1, 2, 3, 0.5, 1 / 3, 7)), draw.random() < 0.7)
             for function in config_module.load().functions
             for _ in range(draw.randint(1, 25))]
    hidden = gradebook_document(tests)
    results = gradescope_results(hidden)
    assert results["score"] == hidden["score"]
    graded = hidden["extra_data"]["per_function"]
    assert round(sum(graded.values()), 2) == hidden["score"]  # the gradebook adds up too
    assert_gradebook_points(results, graded)
    assert_exact_points(results)
    for mine, kit in zip(counted(results), hidden["tests"], strict=True):
        assert abs(mine["max_score"] - kit["max_score"]) < 0.0101


def test_other_files_defining_the_functions_are_named(tmp_path: Path) -> None:
    """The untouched stub uploaded as regularization.py beside the real solution: the
    named file is graded, and the student reads that the other one was not."""
    assignment = config_module.load().assignment
    shutil.copyfile(assignment.folder / "regularization.py", tmp_path / "regularization.py")
    shutil.copyfile(PROJECT_DIR / "samples" / "class" / "ada_lovelace.py",
                    tmp_path / "my_solution.py")
    (tmp_path / "notes.py").write_text("TODO = 'ask about dropout'\n")
    chosen, notes = gradescope.find_solution(tmp_path, assignment)
    assert chosen.name == "regularization.py"
    assert notes == ["my_solution.py also defines functions of the assignment and was not "
                     "graded: only regularization.py was. Upload one file with your "
                     "solution."]

"""The student bundle's leak check catches every way a solution could leave the kit.

Static attacks live in ``tests/kit/corpus/leaks`` (``leaks.json`` says where each goes in
the bundle and what must be reported); attacks that depend on the kit's current secrets
(the reference, the hidden tests, the hidden seed) are made here from those files. Every
attack is added to the real bundle, so a leak is caught in context, and the real bundle
itself must pass.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from assignments.regularization.assignment import HIDDEN_SUITE
from assignments.regularization.assignment import REFERENCE as REFERENCE_FILE
from autograder import config
from autograder.release import bundle, leakcheck

LEAKS = Path(__file__).resolve().parent / "corpus" / "leaks"
ATTACKS: dict[str, dict] = {name: spec for name, spec
                            in json.loads((LEAKS / "leaks.json").read_text()).items()
                            if not name.startswith("_")}


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return bundle.student_files()


def _leaks(files: dict[str, bytes], name: str, raw: bytes) -> list[str]:
    return bundle.check_for_leaks({**files, name: raw})


def test_the_real_bundle_has_no_leak(files: dict[str, bytes]) -> None:
    assert bundle.check_for_leaks(files) == []


def test_the_bundle_holds_no_kit_file(files: dict[str, bytes]) -> None:
    names = set(files)
    assert not any(re.search(r"reference|hidden|grader_config|known_good|conftest|test_", name)
                   for name in names), names
    assert {"check.py", "expectations.npz", "regularization.py", "regularization.ipynb",
            "nn_helpers.py", "SPEC.md"} <= names


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_corpus_attack(files: dict[str, bytes], attack: str) -> None:
    spec = ATTACKS[attack]
    leaks = _leaks(files, spec["as"], (LEAKS / attack).read_bytes())
    if spec["leak"] is None:
        assert leaks == []
    else:
        assert any(re.search(spec["leak"], leak) for leak in leaks), leaks


def test_a_copy_of_the_reference_is_caught(files: dict[str, bytes]) -> None:
    leaks = _leaks(files, "selfcheck/solution.py", REFERENCE_FILE.read_bytes())
    assert any("a line of the reference solution" in leak for leak in leaks), leaks


def test_one_solution_line_inside_a_longer_line_is_caught(files: dict[str, bytes]) -> None:
    line = next(line for line in leakcheck.solution_lines(REFERENCE_FILE.read_text())
                if "batch_losses" in line and "append" in line)
    text = f"# a comment that quotes it: {line.strip()}  and more\n"
    leaks = _leaks(files, "README.md", text.encode())
    assert any("a line of the reference solution" in leak for leak in leaks), leaks


@pytest.mark.parametrize("hidden", sorted(p.name for p in HIDDEN_SUITE.glob("test_*.py")))
def test_a_copy_of_a_hidden_test_file_is_caught(files: dict[str, bytes], hidden: str) -> None:
    leaks = _leaks(files, f"selfcheck/{hidden}", (HIDDEN_SUITE / hidden).read_bytes())
    assert any("a line of the hidden tests" in leak for leak in leaks), leaks


def test_the_hidden_seed_is_caught_in_text_and_in_data(files: dict[str, bytes]) -> None:
    seed = config.load().HIDDEN_SEED
    leaks = _leaks(files, "NOTES.md", f"The graded suite uses the seed {seed}.\n".encode())
    assert any("hidden seed" in leak for leak in leaks), leaks
    digest = hashlib.sha256(f"{seed}:dropout-2d".encode()).digest()
    derived = int.from_bytes(digest[:8], "little")
    buffer = io.BytesIO()
    np.savez(buffer, __structure__=np.array(json.dumps({"seed": derived})))
    leaks = _leaks(files, "expectations.npz", buffer.getvalue())
    assert any("hidden seed" in leak for leak in leaks), leaks


def test_pickled_data_is_refused(files: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"code": "anything"}], dtype=object), allow_pickle=True)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("payload.npy", buffer.getvalue())
    leaks = _leaks(files, "expectations.npz", archive.getvalue())
    assert any("cannot be checked" in leak for leak in leaks), leaks


def test_release_refuses_to_write_a_leaking_bundle(files: dict[str, bytes],
                                                   tmp_path: Path) -> None:
    leaking = {**files, "selfcheck/solution.py": REFERENCE_FILE.read_bytes()}
    with pytest.raises(bundle.ReleaseRefused, match="nothing was written"):
        bundle.write_student_bundle(tmp_path, leaking)
    assert list(tmp_path.iterdir()) == []


def test_code_rules_leave_the_self_check_alone() -> None:
    assignment = config.kit_assignment()
    sources = [*bundle.selfcheck_sources(), *assignment.release_files]
    assert any(path.name == "check.py" for path in sources)
    for path in sources:
        if path.suffix == ".py":
            assert leakcheck.code_findings(path.read_text()) == [], path.name

"""The specification is part of the product: SPEC.md and the stub's docstrings carry all
of it, and nothing the project ships points outside the project."""

from __future__ import annotations

import ast
import re

import pytest

from assignments.regularization.assignment import HERE as ASSIGNMENT_DIR
from assignments.regularization.assignment import STUB as STUB_FILE
from autograder.paths import PROJECT_DIR

SPEC = ASSIGNMENT_DIR / "SPEC.md"
# The rules a student must meet, as the specification and the docstrings state them.
RULES = {
    "l2_regularization": ["lambda_ * sum", "Python ``float``", "2 * lambda_ * W_k",
                          "dtype of ``W_k``", "(0.0, [])", "not modified"],
    "dropout": ["keep = rng.random(A.shape) < p", "exactly", "once per call", "mask = keep / p",
                "out = A * mask", "(A, None)", "ValueError", "names the value received",
                "default_rng()"],
    "train_mlp": ["order = rng.permutation(n)", "consecutive slices", "last may be smaller",
                  "A1, M1 = dropout(A1, keep_prob, True, rng)", "A3 = softmax(Z3)",
                  "-mean(sum(Y * log(A3 + 1e-15), axis=1))", "dZ3 = (A3 - Y) / m",
                  "gW3 = A2.T @ dZ3", "dA2 = dZ3 @ W3.T", "dZ2 = dA2 * (Z2 > 0)",
                  "gW2 = A1.T @ dZ2", "dA1 = dZ2 @ W2.T", "dZ1 = dA1 * (Z1 > 0)",
                  "gW1 = X.T @ dZ1", "never", "param -= lr * grad", "plain mean",
                  "Python float", "after dropout", "Not modified"],
}


def _flat(text: str) -> str:
    return " ".join(text.replace("``", "`").replace("`", "").split())


def _docstrings() -> dict[str, str]:
    tree = ast.parse(STUB_FILE.read_text(encoding="utf-8"))
    return {node.name: ast.get_docstring(node) or "" for node in tree.body
            if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("function", sorted(RULES))
def test_the_stub_docstring_states_every_rule(function: str) -> None:
    docstring = _flat(_docstrings()[function])
    missing = [rule for rule in RULES[function] if _flat(rule) not in docstring]
    assert missing == [], f"{function}'s docstring does not state: {missing}"


def test_the_specification_states_every_rule() -> None:
    spec = _flat(SPEC.read_text(encoding="utf-8")).lower()
    wording = {"Not modified": "not modified", "last may be smaller": "last one may be smaller",
               "Python ``float``": "python float", "dtype of ``W_k``": "dtype of w_k",
               "exactly": "exactly once per call", "once per call": "exactly once per call",
               "plain mean": "plain (unweighted) mean"}
    missing = [rule for rules in RULES.values() for rule in rules
               if _flat(wording.get(rule, rule)).lower() not in spec]
    assert missing == [], f"SPEC.md does not state: {missing}"


@pytest.mark.parametrize("document", ["README.md", "assignments/regularization/SPEC.md",
                                      "assignments/regularization/release/README.md"])
def test_documents_link_only_to_files_of_the_project(document: str) -> None:
    path = PROJECT_DIR / document
    text = path.read_text(encoding="utf-8")
    assert "../shared" not in text and "CONTRACT.md" not in text
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if not re.match(r"[a-z]+://", target):
            resolved = (path.parent / target).resolve()
            assert resolved.is_relative_to(PROJECT_DIR) and resolved.exists(), target

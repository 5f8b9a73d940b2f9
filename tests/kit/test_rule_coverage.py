"""Every rule the hidden suite checks is also checked, on other inputs, by the public suite.

Tests of both suites name the rules of the assignment they check with
``@pytest.mark.rule("l2.penalty_is_python_float", ...)``. These tests collect both suites
with pytest itself and map each hidden test to the public tests that check the same rule:
a hidden test without a rule, or with a rule no public test checks, fails here, so a
student whose public checks all pass is not surprised by a rule they never saw.
"""

from __future__ import annotations

import os

import pytest

from assignments.regularization.assignment import HIDDEN_SUITE, PUBLIC_SUITE


class _RuleCollector:
    """Records the rule markers of every collected test."""

    def __init__(self) -> None:
        self.rules: dict[str, set[str]] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            self.rules[item.nodeid] = {rule for marker in item.iter_markers("rule")
                                       for rule in marker.args}


def _rules(suite) -> dict[str, set[str]]:
    collector = _RuleCollector()
    code = pytest.main([str(suite), "--collect-only", "-p", "no:terminal",
                        "-p", "no:cacheprovider", "-c", os.devnull,
                        "--rootdir", str(suite.parent.parent)], plugins=[collector])
    assert code == pytest.ExitCode.OK, f"collecting {suite} failed with {code}"
    assert collector.rules, f"no tests collected in {suite}"
    return collector.rules


@pytest.fixture(scope="module")
def hidden() -> dict[str, set[str]]:
    return _rules(HIDDEN_SUITE)


@pytest.fixture(scope="module")
def public() -> dict[str, set[str]]:
    return _rules(PUBLIC_SUITE)


def test_every_hidden_test_names_its_rules(hidden: dict[str, set[str]]) -> None:
    unnamed = sorted(test for test, rules in hidden.items() if not rules)
    assert unnamed == [], f"hidden tests without @pytest.mark.rule: {unnamed}"


def test_every_public_test_names_its_rules(public: dict[str, set[str]]) -> None:
    unnamed = sorted(test for test, rules in public.items() if not rules)
    assert unnamed == [], f"public tests without @pytest.mark.rule: {unnamed}"


def test_every_hidden_rule_has_a_public_test(hidden: dict[str, set[str]],
                                             public: dict[str, set[str]]) -> None:
    covered = {rule for rules in public.values() for rule in rules}
    uncovered = {test: sorted(rules - covered) for test, rules in hidden.items()
                 if rules - covered}
    assert uncovered == {}, f"hidden tests whose rules no public test checks: {uncovered}"


def test_rule_names_are_well_formed(hidden: dict[str, set[str]],
                                    public: dict[str, set[str]]) -> None:
    prefixes = ("l2.", "dropout.", "train.")
    bad = sorted({rule for suite in (hidden, public) for rules in suite.values()
                  for rule in rules if not rule.startswith(prefixes) or " " in rule})
    assert bad == [], f"rules should read function.rule_name: {bad}"

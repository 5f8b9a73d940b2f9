"""Turns test outcomes into points: each function's points are shared by its tests' weights."""

from __future__ import annotations

from dataclasses import dataclass

from autograder.config import Config
from autograder.grading.pytest_plugin import Outcome


@dataclass(frozen=True)
class ScoredTest:
    """One test with the points it was worth and the points it earned."""

    outcome: Outcome
    max_points: float
    points: float


def score_tests(outcomes: list[Outcome], config: Config) -> list[ScoredTest]:
    """Give each test its share of its function's points; passed tests earn their share."""
    totals = {f: sum(o.weight for o in outcomes if o.function == f) for f in config.functions}
    scored = []
    for outcome in outcomes:
        total = totals[outcome.function]
        worth = config.POINTS[outcome.function] * outcome.weight / total if total else 0.0
        scored.append(ScoredTest(outcome, worth, worth if outcome.passed else 0.0))
    return scored


def per_function(scored: list[ScoredTest], functions: tuple[str, ...]) -> dict[str, float]:
    """Points earned per function, rounded to 2 decimals."""
    return {f: round(sum(s.points for s in scored if s.outcome.function == f), 2)
            for f in functions}

"""The class report's figures and numbers on made-up classes: full scores counted in the
histograms, and grading-time figures that stay the same size for a class of any size."""

from __future__ import annotations

import base64
import io

from matplotlib import image

from autograder.reports import class_report

FUNCTIONS = ("l2_regularization",)


def result(points: float, shares: list[float]) -> dict:
    """A results document whose tests' shares of 25 points were rounded to 4 decimals."""
    tests = [{"name": f"t{i}", "status": "passed", "max_score": share,
              "score": share * points / 25, "tags": ["l2_regularization"]}
             for i, share in enumerate(shares)]
    return {"score": points, "tests": tests,
            "extra_data": {"max_score": 25, "per_function": {"l2_regularization": points},
                           "student": "s", "isolation": "bubblewrap"}}


def test_the_most_points_are_the_points_of_a_full_score() -> None:
    shares = [3.5714] * 7  # 25 shared among 7 tests: 24.9998 in all
    data = class_report.ClassData({"a": result(25.0, shares), "b": result(12.5, shares)},
                                  FUNCTIONS)
    assert data.maximum("l2_regularization") == 25.0
    assert max(data.scores("l2_regularization")) <= data.maximum("l2_regularization")


def image_height(encoded: str) -> int:
    return image.imread(io.BytesIO(base64.b64decode(encoded)), format="png").shape[0]


def test_grading_times_figure_and_table_do_not_grow_with_the_class() -> None:
    def figures(size: int) -> tuple[dict[str, str], list[list[str]]]:
        results = {f"s{k:05d}": result(25.0, [25.0]) for k in range(size)}
        seconds = {name: 5.0 + (k % 37) / 10 for k, name in enumerate(results)}
        data = class_report.ClassData(results, FUNCTIONS, seconds)
        return class_report._figures(data), class_report.slowest(data)

    small, small_slowest = figures(10)
    large, large_slowest = figures(3000)
    assert image_height(large["timings"]) == image_height(small["timings"])
    assert len(large["timings"]) < 2 * len(small["timings"])
    assert len(small_slowest) == len(large_slowest) == 10
    assert large_slowest[0] == ["s00036", "8.6"]  # the slowest first, ties by name


def failing(causes: list[str]) -> dict:
    """A results document whose failed tests give these "Likely cause" lines."""
    tests = [{"name": f"t{i}", "status": "failed", "max_score": 1, "score": 0,
              "tags": ["l2_regularization"], "output": f"wrong\nLikely cause: {cause}"}
             for i, cause in enumerate(causes)]
    return {"score": 0, "tests": tests,
            "extra_data": {"max_score": 25, "per_function": {"l2_regularization": 0},
                           "student": "s", "isolation": "bubblewrap"}}


def test_causes_are_ordered_by_count_then_by_name_whatever_the_hashing() -> None:
    names = [f"cause {letter}" for letter in "hgfedcba"]
    data = class_report.ClassData({"a": failing(names), "b": failing(["cause z"]),
                                   "c": failing(["cause z"])}, FUNCTIONS)
    assert class_report.causes(data) == (
        [("l2_regularization", "cause z", 2)]
        + [("l2_regularization", name, 1) for name in sorted(names)])

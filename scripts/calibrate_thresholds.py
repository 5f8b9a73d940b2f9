"""Calibrate the MNIST accuracy thresholds of the grader on the reference solution.

The grader trains a submission's ``train_mlp`` on the pinned MNIST split with the
lesson's settings and requires a minimum test accuracy. This script measures what a
correct implementation reaches: it trains the reference over many (init seed,
training seed) pairs, with and without regularization, and sets each threshold well
below the worst seed, so that a correct submission never fails by bad luck:

    threshold = floor_to_0.01(min - max(0.03, 4 * std))

It then trains a few typical broken versions of the reference (made by editing one
line of its source) to show which mistakes the threshold catches: the accuracy check
is there for training that does not learn; smaller mistakes are the job of the
hidden tests that compare with the reference.

Results go to ``calibration/mnist_thresholds.json``; copy the printed thresholds into
``MNIST_MIN_ACCURACY`` in ``grader_config.py``. Run with one BLAS thread, as the
grader's workers do:

    OPENBLAS_NUM_THREADS=1 python scripts/calibrate_thresholds.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import inspect
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT_DIR = ROOT / "assignments" / "regularization"
REFERENCE_PATH = ROOT / "assignments" / "regularization" / "grader" / "reference.py"
DEFAULT_OUTPUT = ROOT / "calibration" / "mnist_thresholds.json"
MARGIN_FLOOR = 0.03
MARGIN_STDS = 4.0

# Typical mistakes, each one textual edit of the reference's train_mlp:
# (name, what the mistake is, [(reference line, broken line), ...]).
BROKEN_VARIANTS: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "gradient_ascent",
        "update with the wrong sign: param += lr * grad",
        [("P[name] = P[name] - lr * grads[name]", "P[name] = P[name] + lr * grads[name]")],
    ),
    (
        "labels_not_shuffled",
        "X rows shuffled but Y taken in the original order",
        [("Xb, Yb = X[idx], Y[idx]", "Xb, Yb = X[idx], Y[start : start + batch_size]")],
    ),
    (
        "missing_1_over_m",
        "dZ3 = A3 - Y, forgetting to divide by the batch size",
        [("dZ3 = (A3 - Yb) / m", "dZ3 = A3 - Yb")],
    ),
    (
        "no_bias_update",
        "only W1, W2, W3 are updated; biases stay zero",
        [("for name in P:", 'for name in ("W1", "W2", "W3"):')],
    ),
    (
        "no_relu_derivative",
        "backward pass ignores ReLU: dZ = dA",
        [("dZ2 = dA2 * (Z2 > 0)", "dZ2 = dA2"), ("dZ1 = dA1 * (Z1 > 0)", "dZ1 = dA1")],
    ),
]


def load_module(path: Path, name: str) -> ModuleType:
    """Import the Python file at ``path`` as a module called ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def broken_train_mlp(reference: ModuleType, edits: list[tuple[str, str]]) -> Callable[..., Any]:
    """Return the reference's train_mlp with ``edits`` applied to its source."""
    source = inspect.getsource(reference.train_mlp)
    for old, new in edits:
        if source.count(old) != 1:
            raise SystemExit(f"the reference's train_mlp no longer contains {old!r} exactly once")
        source = source.replace(old, new)
    namespace = dict(vars(reference))
    exec(compile(source, f"<broken {REFERENCE_PATH.name}>", "exec"), namespace)
    return namespace["train_mlp"]


def test_accuracy(
    train_mlp: Callable[..., Any],
    helpers: ModuleType,
    split: Any,
    config: Any,
    settings: dict[str, Any],
    init_seed: int,
    train_seed: int,
) -> float:
    """Train from the seeded initialisation and return the test accuracy."""
    params = helpers.init_params(config.MNIST_LAYERS, np.random.default_rng(init_seed))
    with np.errstate(all="ignore"):  # broken variants overflow; their accuracy says so
        params, _ = train_mlp(
            params,
            split.X_train,
            split.Y_train,
            rng=np.random.default_rng(train_seed),
            **config.MNIST_TRAINING,
            **settings,
        )
        return helpers.accuracy(params, split.X_test, split.y_test)


def seed_pairs(config: Any, count: int) -> list[tuple[int, int]]:
    """The grader's own (init, training) seed pair first, then ``count - 1`` more."""
    return [
        (config.MNIST_INIT_SEED + 1000 * k, config.MNIST_TRAIN_SEED + 1000 * k)
        for k in range(count)
    ]


def threshold_for(accuracies: list[float]) -> tuple[float, float, float, float]:
    """Return ``(min, mean, std, threshold)`` of the accuracies (std with ddof=1)."""
    values = np.asarray(accuracies)
    low, mean, std = float(values.min()), float(values.mean()), float(values.std(ddof=1))
    margin = max(MARGIN_FLOOR, MARGIN_STDS * std)
    return low, mean, std, math.floor((low - margin) * 100) / 100


def main() -> None:
    """Run the calibration and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seed pairs per setting (20)")
    parser.add_argument("--broken-seeds", type=int, default=3, help="seed pairs per broken variant")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    if args.seeds < 20:
        parser.error("calibrate on at least 20 seed pairs")
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        print("note: OPENBLAS_NUM_THREADS is not 1; the grader's workers use one thread")

    sys.path.insert(0, str(ASSIGNMENT_DIR))
    helpers = load_module(ASSIGNMENT_DIR / "nn_helpers.py", "nn_helpers")
    sys.modules["nn_helpers"] = helpers
    reference = load_module(REFERENCE_PATH, "reference_regularization")
    config = load_module(ROOT / "grader_config.py", "grader_config")
    split = helpers.load_mnist(
        "subset",
        seed=config.MNIST_SPLIT_SEED,
        test_fraction=config.MNIST_TEST_FRACTION,
        sha256=config.MNIST_SUBSET_SHA256,
    )
    settings = {"plain": {}, "regularized": dict(config.MNIST_REGULARIZED)}
    pairs = seed_pairs(config, args.seeds)

    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "rule": f"floor_to_0.01(min - max({MARGIN_FLOOR}, {MARGIN_STDS} * std)), std with ddof=1",
        "settings": {
            "layers": list(config.MNIST_LAYERS),
            "training": dict(config.MNIST_TRAINING),
            "regularized": dict(config.MNIST_REGULARIZED),
            "init": "nn_helpers.init_params(layers, default_rng(init_seed)), 0.01 * N(0, 1)",
            "split_seed": config.MNIST_SPLIT_SEED,
            "test_fraction": config.MNIST_TEST_FRACTION,
            "subset_sha256": config.MNIST_SUBSET_SHA256,
            "n_train": int(split.X_train.shape[0]),
            "n_test": int(split.X_test.shape[0]),
            "grader_seed_pair": [config.MNIST_INIT_SEED, config.MNIST_TRAIN_SEED],
        },
        "environment": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "machine": platform.machine(),
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        },
        "configs": {},
        "broken_variants": [],
    }

    thresholds: dict[str, float] = {}
    for name, extra in settings.items():
        runs = []
        for init_seed, train_seed in pairs:
            start = time.perf_counter()
            acc = test_accuracy(
                reference.train_mlp, helpers, split, config, extra, init_seed, train_seed
            )
            runs.append({"init_seed": init_seed, "train_seed": train_seed, "accuracy": acc})
            print(f"{name:12s} seeds ({init_seed}, {train_seed}): {acc:.4f}"
                  f"  [{time.perf_counter() - start:.1f} s]", flush=True)
        low, mean, std, threshold = threshold_for([run["accuracy"] for run in runs])
        thresholds[name] = threshold
        report["configs"][name] = {
            "runs": runs,
            "min": low,
            "mean": mean,
            "std": std,
            "threshold": threshold,
        }

    for variant, description, edits in BROKEN_VARIANTS:
        train_mlp = broken_train_mlp(reference, edits)
        for name, extra in settings.items():
            accs = [
                test_accuracy(train_mlp, helpers, split, config, extra, init_seed, train_seed)
                for init_seed, train_seed in pairs[: args.broken_seeds]
            ]
            caught = max(accs) < thresholds[name]
            report["broken_variants"].append({
                "name": variant,
                "mistake": description,
                "config": name,
                "seed_pairs": [list(pair) for pair in pairs[: args.broken_seeds]],
                "accuracies": accs,
                "fails_threshold": caught,
            })
            print(f"broken {variant:20s} {name:12s}: {', '.join(f'{a:.4f}' for a in accs)}"
                  f"  -> {'fails' if caught else 'PASSES'} the threshold {thresholds[name]}",
                  flush=True)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print()
    for name, entry in report["configs"].items():
        print(f"{name:12s} min {entry['min']:.4f}  mean {entry['mean']:.4f}  "
              f"std {entry['std']:.4f}  threshold {entry['threshold']:.2f}")
    print(f"\nMNIST_MIN_ACCURACY = {json.dumps(thresholds)}  (written to {args.output})")


if __name__ == "__main__":
    main()

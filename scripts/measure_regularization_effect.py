"""Measure where regularization visibly helps, for the notebook's MNIST experiment.

With the lesson's settings (4,000 training images, 20 epochs) a correct network reaches
about the same test accuracy with and without regularization, so a learner sees little.
This script trains the reference solution, with and without regularization (the
lesson's L2 ``lambda_=0.01`` and dropout ``keep_prob=0.8``, or other strengths given with
``--regularization``), on smaller training sets and for more epochs, over several seed
pairs, and records after each epoch the training and test accuracy of every run. The
summary gives, per setting and epoch count, the mean test accuracy of both runs, the mean
gain from regularization, how many seed pairs gained, and the train/test gap of both runs.

The notebook's experiment uses the setting chosen from this report; its text quotes
the numbers. Results go to ``calibration/regularization_effect.json``. Run with one BLAS
thread, as the notebook's test does:

    OPENBLAS_NUM_THREADS=1 python scripts/measure_regularization_effect.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT_DIR = ROOT / "assignments" / "regularization"
REFERENCE_PATH = ROOT / "assignments" / "regularization" / "grader" / "reference.py"
DEFAULT_OUTPUT = ROOT / "calibration" / "regularization_effect.json"
LESSON_REGULARIZATION = "0.01,0.8"  # lambda_, keep_prob: the lesson's
TRAINING = {"lr": 0.1, "batch_size": 64}
SUBSET_SEED = 0  # nn_helpers.training_subset's default, as in the notebook


def load_module(path: Path, name: str) -> ModuleType:
    """Import the Python file at ``path`` as a module called ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(helpers: ModuleType, reference: ModuleType, split: Any, epochs: int,
        regularization: dict[str, float], init_seed: int, train_seed: int) -> dict[str, Any]:
    """Train once from the notebook's initialisation; return the per-epoch curves."""
    start = helpers.init_params([784, 256, 128, 10], np.random.default_rng(init_seed),
                                scale=0.01)
    _, history = helpers.train_with_curves(
        reference.train_mlp, start, split, epochs=epochs,
        rng=np.random.default_rng(train_seed), **TRAINING, **regularization)
    return {"init_seed": init_seed, "train_seed": train_seed,
            "train_accuracy": history["train_accuracy"],
            "test_accuracy": history["test_accuracy"]}


def summarise(plain: list[dict], regular: list[dict], epoch: int) -> dict[str, Any]:
    """Means over seed pairs after ``epoch`` epochs (1-based)."""
    def at(runs: list[dict], key: str) -> np.ndarray:
        return np.array([r[key][epoch - 1] for r in runs])

    gain = at(regular, "test_accuracy") - at(plain, "test_accuracy")
    return {
        "epochs": epoch,
        "plain_test": round(float(at(plain, "test_accuracy").mean()), 4),
        "regularized_test": round(float(at(regular, "test_accuracy").mean()), 4),
        "gain_mean": round(float(gain.mean()), 4),
        "gain_min": round(float(gain.min()), 4),
        "gain_max": round(float(gain.max()), 4),
        "seed_pairs_gaining": int((gain > 0).sum()),
        "seed_pairs": len(gain),
        "plain_gap": round(float((at(plain, "train_accuracy")
                                  - at(plain, "test_accuracy")).mean()), 4),
        "regularized_gap": round(float((at(regular, "train_accuracy")
                                        - at(regular, "test_accuracy")).mean()), 4),
    }


def main() -> None:
    """Run the measurement and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4000, 1000, 500],
                        help="training-set sizes to try (default 4000 1000 500)")
    parser.add_argument("--epochs", type=int, default=60, help="epochs per run (60)")
    parser.add_argument("--report-epochs", type=int, nargs="+", default=[10, 20, 30, 40, 60])
    parser.add_argument("--seeds", type=int, default=5, help="seed pairs per setting (5)")
    parser.add_argument("--regularization", nargs="+", default=[LESSON_REGULARIZATION],
                        help="regularized settings as LAMBDA,KEEP_PROB (default 0.01,0.8)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        print("note: OPENBLAS_NUM_THREADS is not 1")

    sys.path.insert(0, str(ASSIGNMENT_DIR))
    helpers = load_module(ASSIGNMENT_DIR / "nn_helpers.py", "nn_helpers")
    sys.modules["nn_helpers"] = helpers
    reference = load_module(REFERENCE_PATH, "reference_regularization")
    full = helpers.load_mnist()
    pairs = [(7 + 1000 * k, 11 + 1000 * k) for k in range(args.seeds)]
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "what": "reference train_mlp, 784-256-128-10, init 0.01*N(0,1), lr 0.1, batch 64; "
                "plain vs L2 lambda_ + dropout keep_prob; training images chosen by "
                "nn_helpers.training_subset(split, n, seed=0); test set: the 1,000 held-out "
                "images of the pinned subset; accuracy without dropout",
        "training": TRAINING,
        "seed_pairs": [list(p) for p in pairs],
        "environment": {"python": platform.python_version(), "numpy": np.__version__,
                        "machine": platform.machine(),
                        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")},
        "settings": [],
    }
    regularizations = []
    for text in args.regularization:
        lambda_, keep_prob = (float(part) for part in text.split(","))
        regularizations.append({"lambda_": lambda_, "keep_prob": keep_prob})
    for size in args.sizes:
        split = helpers.training_subset(full, size, seed=SUBSET_SEED)
        plain = [run(helpers, reference, split, args.epochs, {}, *p) for p in pairs]
        for regularized in regularizations:
            started = time.perf_counter()
            regular = [run(helpers, reference, split, args.epochs, regularized, *p)
                       for p in pairs]
            seconds = (time.perf_counter() - started) / len(pairs)
            summary = [summarise(plain, regular, e) for e in args.report_epochs
                       if e <= args.epochs]
            report["settings"].append({
                "n_train": size, "regularized": regularized, "seconds_per_run": round(seconds, 2),
                "summary": summary, "plain": plain, "regularized_runs": regular})
            for row in summary:
                print(f"n_train {size:5d} {regularized} epochs {row['epochs']:3d}: plain "
                      f"{row['plain_test']:.4f} regularized {row['regularized_test']:.4f} gain "
                      f"{row['gain_mean']:+.4f} ({row['seed_pairs_gaining']}/{row['seed_pairs']}"
                      f" gain, min {row['gain_min']:+.4f}); gap plain {row['plain_gap']:.4f} "
                      f"regularized {row['regularized_gap']:.4f}", flush=True)
            print(f"  {seconds:.1f} s per {args.epochs}-epoch run", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()

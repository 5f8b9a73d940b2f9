"""Measure the band that correct training stays in on MNIST, for the HTML feedback.

The hidden suite trains each submission's ``train_mlp`` on the pinned MNIST split with the
lesson's settings, with and without regularization; ``feedback.html`` plots the student's
loss per epoch against this band. The band is the per-epoch minimum and maximum of the
reference's loss over seed pairs (the grader's own pair first), with the settings and
split of ``grader_config.py``. Results go to ``calibration/mnist_loss_band.json``. Run with
one BLAS thread, as the grader's workers do:

    OPENBLAS_NUM_THREADS=1 python scripts/calibrate_loss_band.py --pairs 10
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np

from assignments.regularization.grader import data
from autograder import config as config_module
from autograder.paths import PROJECT_DIR

OUTPUT = PROJECT_DIR / "calibration" / "mnist_loss_band.json"


def losses(config, split, settings: dict, init_seed: int, train_seed: int) -> list[float]:
    """The reference's loss per epoch from one seeded initialisation and generator."""
    params = data.helpers().init_params(config.MNIST_LAYERS, np.random.default_rng(init_seed))
    _, history = config_module.load().assignment.load_reference().train_mlp(
        params, split.X_train, split.Y_train, rng=np.random.default_rng(train_seed),
        **config.MNIST_TRAINING, **settings)
    return [float(x) for x in history["loss"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10, help="seed pairs per setting")
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    config = config_module.load()
    split = data.load_split(config)
    pairs = [(config.MNIST_INIT_SEED + 1000 * k, config.MNIST_TRAIN_SEED + 1000 * k)
             for k in range(args.pairs)]
    band: dict = {"rule": "per-epoch min and max of the reference's loss over seed pairs",
                  "seed_pairs": pairs, "training": dict(config.MNIST_TRAINING),
                  "regularized_settings": dict(config.MNIST_REGULARIZED),
                  "environment": {"python": platform.python_version(),
                                  "numpy": np.__version__}}
    for label, settings in (("plain", {}), ("regularized", dict(config.MNIST_REGULARIZED))):
        runs = np.array([losses(config, split, settings, *pair) for pair in pairs])
        band[label] = {"low": runs.min(axis=0).round(6).tolist(),
                       "high": runs.max(axis=0).round(6).tolist(),
                       "median": np.median(runs, axis=0).round(6).tolist()}
        print(f"{label}: last epoch {runs[:, -1].min():.4f} .. {runs[:, -1].max():.4f}",
              file=sys.stderr)
    args.out.write_text(json.dumps(band, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

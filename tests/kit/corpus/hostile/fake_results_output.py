"""Attack: prints a fake results.json, a fake Gradescope JSON and a 50 MB flood of output, writes results.json in its working directory, and returns wrong values. The grader must keep its own results (every function loses), keep only OUTPUT_LIMIT_KB of output, and write a small results.json."""

import json
import sys
import numpy as np

from nn_helpers import relu, softmax

_FAKE = {"score": 100, "max_score": 100, "tests": [{"name": "all", "score": 100,
                                                    "max_score": 100, "output": "perfect"}]}
print(json.dumps(_FAKE))
print("student,score,max_score\nfake_results_output,100,100")
try:
    with open("results.json", "w") as _f:
        json.dump(_FAKE, _f)
except OSError:
    pass


def _flood():
    line = "FLOOD " * 170 + "\n"  # about 1 KB
    for _ in range(50 * 1024):  # about 50 MB
        sys.stdout.write(line)
    print(json.dumps(_FAKE))


def l2_regularization(weights, lambda_):
    _flood()
    return 999.0, [W * 0 for W in weights]


def dropout(A, p, training=True, rng=None):
    print(json.dumps(_FAKE), file=sys.stderr)
    return A * 0, A * 0


def train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0,
              keep_prob=1.0, rng=None):
    print(json.dumps(_FAKE))
    return {k: v * 0 for k, v in params.items()}, {"loss": [0.0] * epochs}

"""Known-good ``l2_regularization`` and ``dropout``, bound into the substitution worker only.

``train_mlp`` is graded with these in place of the submission's own versions, so a
mistake in either costs points in that function alone. Both follow SPEC.md, which
spells them out in full; the training-loop reference never enters a sandbox. This file
is never inside a sandbox: its source is sent through the pipe to the worker that grades
``train_mlp``, which builds the two functions before the submission is imported.
"""

from __future__ import annotations

import numpy as np


def l2_regularization(weights: list, lambda_: float) -> tuple[float, list]:
    """Penalty ``lambda_ * sum(W**2)`` and gradients ``2 * lambda_ * W``."""
    penalty = sum(float(np.sum(W * W)) for W in weights)
    return float(lambda_ * penalty), [(2 * lambda_ * W).astype(W.dtype, copy=False)
                                      for W in weights]


def dropout(A: np.ndarray, p: float, training: bool = True, rng=None) -> tuple:
    """Inverted dropout with keep probability ``p`` and one ``rng.random`` draw per call."""
    if not 0 < p <= 1:
        raise ValueError(f"keep probability p must be in (0, 1], got {p!r}")
    if not training:
        return A, None
    if rng is None:
        rng = np.random.default_rng()
    mask = ((rng.random(A.shape) < p) / p).astype(A.dtype, copy=False)
    return A * mask, mask

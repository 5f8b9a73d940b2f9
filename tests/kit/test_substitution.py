"""The substitution worker's redirection reaches every reference a submission holds to its own
``dropout`` and ``l2_regularization``: aliases, other modules, classes (static and class
methods), default arguments, closures, partials, lists and dicts, copies of the function."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from assignments.regularization.grader import known_good
from autograder.sandbox import substitution

NNPARTS = '''
import functools

def dropout(A, p, training=True, rng=None):
    return "student dropout", None

def l2_regularization(weights, lambda_):
    return "student l2", []

class Dropout:
    apply = staticmethod(dropout)

class Layer:
    @classmethod
    def drop(cls, A, p, training=True, rng=None):
        return "student classmethod", None

def with_default(A, drop=dropout):
    return drop(A, 0.5, True, None)

def make_closure():
    fn = dropout
    def inner(A):
        return fn(A, 0.5, True, None)
    return inner

closure = make_closure()
partial_drop = functools.partial(dropout, p=0.5)
ops_list = [dropout, l2_regularization]
ops_dict = {"drop": dropout, "l2": l2_regularization}
ops_tuple = (dropout,)
'''

REGULARIZATION = '''
import types
from nnparts import dropout as _alias, l2_regularization, Dropout
import nnparts

dropout = _alias
same_code_copy = types.FunctionType(_alias.__code__, globals(), "copy")

class KeepRenamed:
    pass

def renamed(A, keep_prob, rng=None, training=True):
    return "student renamed", None

def train_mlp(params, X, Y, **kw):
    return params, {"loss": []}
'''


@pytest.fixture
def submission(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "nnparts.py").write_text(textwrap.dedent(NNPARTS))
    (tmp_path / "regularization.py").write_text(textwrap.dedent(REGULARIZATION))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("nnparts", "regularization"):
        sys.modules.pop(name, None)
    module = importlib.import_module("regularization")
    yield tmp_path, module, importlib.import_module("nnparts")
    for name in ("nnparts", "regularization"):
        sys.modules.pop(name, None)


KNOWN = {"dropout": known_good.dropout, "l2_regularization": known_good.l2_regularization}


def _is_known_dropout(result, A) -> bool:
    out, mask = result
    return isinstance(out, np.ndarray) and out.shape == A.shape and mask is not None


def test_every_reference_to_the_submissions_functions_calls_the_known_good_ones(submission):
    folder, module, nnparts = submission
    notes = substitution.install(module, str(folder), KNOWN)
    assert notes == []
    A = np.ones((3, 4))
    rng = np.random.default_rng(0)
    routes = {
        "module attribute": lambda: module.dropout(A, 0.5, True, rng),
        "alias in another module": lambda: nnparts.dropout(A, 0.5, True, rng),
        "staticmethod in a class": lambda: nnparts.Dropout.apply(A, 0.5, True, rng),
        "instance of that class": lambda: nnparts.Dropout().apply(A, 0.5, True, rng),
        "default argument": lambda: nnparts.with_default(A),
        "closure cell": lambda: nnparts.closure(A),
        "functools.partial": lambda: nnparts.partial_drop(A, training=True, rng=rng),
        "list item": lambda: nnparts.ops_list[0](A, 0.5, True, rng),
        "dict value": lambda: nnparts.ops_dict["drop"](A, 0.5, True, rng),
        "tuple item": lambda: nnparts.ops_tuple[0](A, 0.5, True, rng),
        "copy of the function's code": lambda: module.same_code_copy(A, 0.5, True, rng),
    }
    for route, call in routes.items():
        assert _is_known_dropout(call(), A), route
    penalty, grads = nnparts.ops_dict["l2"]([np.ones((2, 2))], 0.5)
    assert penalty == 2.0 and len(grads) == 1
    assert nnparts.ops_list[1]([np.ones((2, 2))], 0.5)[0] == 2.0
    assert module.l2_regularization([np.ones((1, 2))], 1.0)[0] == 2.0


def test_calls_are_counted_and_reset(submission):
    folder, module, nnparts = submission
    substitution.install(module, str(folder), KNOWN)
    substitution.reset_calls()
    nnparts.with_default(np.ones((2, 2)))
    nnparts.ops_list[1]([np.ones((2, 2))], 0.1)
    module.dropout(np.ones((2, 2)), 0.5)
    assert substitution.calls == {"dropout": 2, "l2_regularization": 1}
    substitution.reset_calls()
    assert substitution.calls == {"dropout": 0, "l2_regularization": 0}


def test_a_classmethod_dropout_and_renamed_parameters_are_mapped(submission):
    folder, module, nnparts = submission
    module.dropout = nnparts.Layer.drop          # a bound classmethod as the contract function
    substitution.install(module, str(folder), {"dropout": known_good.dropout})
    A = np.ones((5, 5))
    assert _is_known_dropout(nnparts.Layer.drop(A, 0.5, True, np.random.default_rng(1)), A)

    module.dropout = module.renamed              # (A, keep_prob, rng=None, training=True)
    substitution.install(module, str(folder), {"dropout": known_good.dropout})
    rng = np.random.default_rng(2)
    out, mask = module.renamed(A, keep_prob=0.5, rng=rng)
    expected = known_good.dropout(A, 0.5, True, np.random.default_rng(2))
    assert np.array_equal(mask, expected[1])


def test_a_call_written_for_the_contract_still_works_when_the_signature_differs(submission):
    folder, module, nnparts = submission
    exec("def narrow(A):\n    return A, None", nnparts.__dict__)  # noqa: S102
    module.dropout = nnparts.narrow
    substitution.install(module, str(folder), {"dropout": known_good.dropout})
    A = np.ones((2, 3))
    assert _is_known_dropout(nnparts.narrow(A, 0.5, True, np.random.default_rng(3)), A)


def test_a_callable_object_is_redirected_through_its_call_method(submission):
    folder, module, nnparts = submission
    exec(textwrap.dedent('''
        class Drop:
            def __call__(self, A, p, training=True, rng=None):
                return "student object", None
        drop_object = Drop()
        holder = [drop_object]
    '''), nnparts.__dict__)  # noqa: S102
    module.dropout = nnparts.drop_object
    assert substitution.install(module, str(folder), {"dropout": known_good.dropout}) == []
    A = np.ones((2, 3))
    assert _is_known_dropout(nnparts.holder[0](A, 0.5, True, np.random.default_rng(4)), A)


def test_a_numpy_ufunc_in_place_of_a_function_is_rebound_and_reported(submission):
    folder, module, nnparts = submission
    nnparts.builtin_alias = np.multiply
    module.dropout = np.multiply
    notes = substitution.install(module, str(folder), {"dropout": known_good.dropout})
    assert nnparts.builtin_alias is module.dropout
    assert module.dropout.__wrapped__ is known_good.dropout
    assert np.multiply is not known_good.dropout
    assert len(notes) == 1 and "not a Python function" in notes[0]

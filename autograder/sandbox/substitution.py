"""Make every reference a submission holds to its own functions call known-good versions.

Staged beside ``worker.py`` in the substitution worker only (the one that grades the
functions that call the substituted ones). Replacing the submission module's attribute is
not enough: a caller may do ``from parts import helper``, keep ``staticmethod(helper)`` in
a class, hold it as a default argument, in a closure, under another name, in a
``functools.partial`` or in a list. So the code of the submission's function objects is
redirected instead: every function object that IS the submission's version of a
substituted function, or shares its code, gets a small trampoline as its ``__code__``
that calls the known-good function. Whatever name or container a caller reached it
through, the call lands in the known-good version. Callables that are not Python
functions (a callable object, a C function) are rebound by reference instead, in every
module loaded from the submission folder; what could not be reached is reported.

The trampoline maps the caller's arguments onto the known-good signature through the
submission's own signature (so ``f(A, rate=0.8)`` works when the contract says ``p`` and
the student named the parameter ``rate``), and counts the calls, so that the
grader can tell whether the caller used the function at all.

Standard library only: this file runs inside the sandbox.
"""

from __future__ import annotations

import functools
import gc
import inspect
import os
import sys
import types
from collections.abc import Callable

GLOBAL_NAME = "__regkit_substitutes__"
_KINDS = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
          inspect.Parameter.KEYWORD_ONLY)

calls: dict[str, int] = {}


def reset_calls() -> None:
    """Start counting the known-good calls of the next request from zero."""
    for name in calls:
        calls[name] = 0


def _submission_modules(submission_dir: str) -> list[types.ModuleType]:
    root = os.path.join(os.path.realpath(submission_dir), "")
    found = []
    for module in list(sys.modules.values()):
        try:
            path = module.__dict__.get("__file__") if isinstance(module, types.ModuleType) \
                else None
        except Exception:  # noqa: BLE001 - a module object may be anything
            continue
        if isinstance(path, str) and os.path.realpath(path).startswith(root):
            found.append(module)
    return found


def _unwrap(value: object) -> tuple[object, bool]:
    """The callable under bound methods, static/class methods and partials, and whether it
    receives an extra first argument (self or cls) when called through ``value``."""
    bound = False
    for _ in range(20):
        if isinstance(value, types.MethodType):
            value, bound = value.__func__, True
        elif isinstance(value, staticmethod | classmethod):
            value = value.__func__
        elif isinstance(value, functools.partial):
            value = value.func
        else:
            break
    return value, bound


def _functions_of(value: object) -> list[tuple[types.FunctionType, bool]]:
    """The Python functions a call of ``value`` runs first, each with whether it receives
    an extra first argument (self or cls): the function itself, the functions it wraps
    (``__wrapped__``), or a callable object's ``__call__``."""
    value, bound = _unwrap(value)
    if not isinstance(value, types.FunctionType):
        value, _ = _unwrap(next((vars(k)["__call__"] for k in type(value).__mro__
                                 if "__call__" in vars(k)), None))
        bound = True
    chain: list[tuple[types.FunctionType, bool]] = []
    while isinstance(value, types.FunctionType) and all(value is not f for f, _ in chain):
        chain.append((value, bound))
        value, bound = _unwrap(getattr(value, "__wrapped__", None))
    return chain


def _contract(known: Callable) -> tuple[str, ...]:
    """The known-good function's parameter names, read from its code object (built before
    any student code ran, so nothing the submission patched is consulted)."""
    code = known.__code__
    return code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]


def _student_parameters(function: types.FunctionType, contract: tuple[str, ...],
                        drops_first: bool) -> tuple[inspect.Signature | None, dict[str, str]]:
    """The function's own signature and, for each contract parameter, the name the
    submission gave it (same name first, then the remaining ones in order)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None, {}
    names = [p.name for p in signature.parameters.values() if p.kind in _KINDS]
    if names and (drops_first or (names[0] in ("self", "cls") and len(names) > len(contract))):
        names = names[1:]
    mapping = {name: name for name in contract if name in names}
    rest = [name for name in names if name not in mapping.values()]
    for name in contract:
        if name not in mapping and rest:
            mapping[name] = rest.pop(0)
    return signature, mapping


def _dispatcher(name: str, known: Callable, signature: inspect.Signature | None,
                mapping: dict[str, str]) -> Callable:
    contract = inspect.signature(known)

    def dispatch(args: tuple, kwargs: dict):
        calls[name] = calls.get(name, 0) + 1
        if signature is not None:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                pass
            else:
                bound.apply_defaults()
                chosen = {c: bound.arguments[s] for c, s in mapping.items()
                          if s in bound.arguments}
                return known(**chosen)
        # The call does not fit the submission's own signature: it was written for the
        # contract's (a caller that passes the contract's arguments while the
        # submission's own version takes other ones).
        bound = contract.bind(*args, **kwargs)
        return known(*bound.args, **bound.kwargs)

    return dispatch


def _counted(name: str, known: Callable) -> Callable:
    """``known``, counting its calls under ``name`` like the trampolines do."""

    @functools.wraps(known)
    def counted(*args, **kwargs):
        calls[name] = calls.get(name, 0) + 1
        return known(*args, **kwargs)

    return counted


def _trampoline_code(free_vars: int, key: str) -> types.CodeType:
    """Code of ``def f(*args, **kwargs): return <substitutes>[key](args, kwargs)`` with
    ``free_vars`` unused free variables, so it can replace the code of a closure."""
    names = [f"_regkit_free_{i}" for i in range(free_vars)]
    lines = ["def _outer():", *(f"    {n} = None" for n in names),
             "    def _substitute(*args, **kwargs):"]
    if names:
        lines.append(f"        ({', '.join(names)},)")
    lines += [f"        return {GLOBAL_NAME}[{key!r}](args, kwargs)", "    return _substitute"]
    namespace: dict = {}
    code = compile("\n".join(lines), "<known-good>", "exec")  # no file behind it either
    exec(code, namespace)  # noqa: S102 - fixed text built here, no student input
    return namespace["_outer"]().__code__


class _Redirector:
    """Redirects function objects of one contract function to its known-good version."""

    def __init__(self, name: str, known: Callable) -> None:
        self.name, self.known = name, known
        self.codes: set[types.CodeType] = set()
        self.done: set[int] = set()
        self.notes: list[str] = []

    def redirect(self, function: types.FunctionType, drops_first: bool) -> None:
        if id(function) in self.done:
            return
        self.done.add(id(function))
        self.codes.add(function.__code__)
        signature, mapping = _student_parameters(function, _contract(self.known), drops_first)
        key = f"{self.name}:{id(function)}"
        table = function.__globals__.setdefault(GLOBAL_NAME, {})
        table[key] = _dispatcher(self.name, self.known, signature, mapping)
        function.__code__ = _trampoline_code(len(function.__closure__ or ()), key)

    def copies(self) -> None:
        """Redirect functions made from the same code (``FunctionType(f.__code__, ...)``)."""
        for obj in gc.get_objects():
            if (isinstance(obj, types.FunctionType) and id(obj) not in self.done
                    and obj.__code__ in self.codes):
                self.redirect(obj, drops_first=False)


def _rebind(modules: list[types.ModuleType], target: object, replacement: Callable) -> int:
    """Replace references to ``target`` in module namespaces, class dicts, module-level
    lists and dicts, function defaults and closure cells; return how many were replaced."""
    replaced = 0

    def swap_dict(mapping: dict) -> None:
        nonlocal replaced
        for key, value in list(mapping.items()):
            if isinstance(key, str) and key.startswith("__"):
                continue  # __builtins__ and the like belong to Python, not the submission
            if value is target:
                mapping[key] = replacement
                replaced += 1
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    if item is target:
                        value[i] = replacement
                        replaced += 1
            elif isinstance(value, dict) and value is not mapping:
                swap_dict(value)

    for module in modules:
        swap_dict(module.__dict__)
        for value in list(vars(module).values()):
            if isinstance(value, type) and value.__module__ == module.__name__:
                for key, item in list(vars(value).items()):
                    if _unwrap(item)[0] is target:
                        setattr(value, key, staticmethod(replacement))
                        replaced += 1
            if isinstance(value, types.FunctionType):
                replaced += _rebind_function(value, target, replacement)
    return replaced


def _rebind_function(function: types.FunctionType, target: object,
                     replacement: Callable) -> int:
    replaced = 0
    if function.__defaults__ and any(d is target for d in function.__defaults__):
        function.__defaults__ = tuple(replacement if d is target else d
                                      for d in function.__defaults__)
        replaced += 1
    for key, value in (function.__kwdefaults__ or {}).items():
        if value is target:
            function.__kwdefaults__[key] = replacement
            replaced += 1
    for cell in function.__closure__ or ():
        try:
            if cell.cell_contents is target:
                cell.cell_contents = replacement
                replaced += 1
        except ValueError:  # an empty cell
            continue
    return replaced


def install(module: types.ModuleType, submission_dir: str,
            known: dict[str, Callable]) -> list[str]:
    """Redirect the submission's versions of the functions in ``known``; return notes on
    what could not be redirected (empty when every reference was reached)."""
    modules = _submission_modules(submission_dir)
    if module not in modules:
        modules.append(module)
    notes = []
    for name, replacement in known.items():
        calls.setdefault(name, 0)
        original = getattr(module, name, None)
        if original is None:
            setattr(module, name, _counted(name, replacement))
            continue
        redirector = _Redirector(name, replacement)
        functions = _functions_of(original)
        for function, drops_first in functions:
            redirector.redirect(function, drops_first)
        redirector.copies()
        if not functions:
            counted = _counted(name, replacement)
            setattr(module, name, counted)
            _rebind(modules, original, counted)
            notes.append(f"your `{name}` is a {type(original).__name__} object, not a Python "
                         "function, so the grader could replace only the references to it in "
                         "your modules' names, classes, lists, dicts, default arguments and "
                         "closures, not others")
    return notes

"""The registry every assignment's public checks use: :class:`Check` and :func:`registrar`.

An assignment's ``public_checks.py`` keeps its own list and decorates each check with the
decorator :func:`registrar` makes for that list::

    CHECKS: list[Check] = []
    check = registrar(CHECKS)

    @check("scale", 2.0, "scale.keeps_shape")
    def scaling_keeps_the_shape(student, expected): ...

The runner of ``check.py`` and the kit's public suite read the list in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Params = tuple[tuple[str, Any, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Check:
    """One public check: the function it grades, its weight, the rules it covers."""

    function: str
    weight: float
    rules: tuple[str, ...]
    run: Callable[..., None]
    params: Params = field(default=())

    @property
    def name(self) -> str:
        """The check's name, as test titles show it."""
        return self.run.__name__

    def cases(self) -> list[tuple[str, tuple, tuple[str, ...]]]:
        """``(shown name, extra arguments, rules)`` of each run of this check."""
        title = self.name.replace("_", " ")
        if not self.params:
            return [(title, (), self.rules)]
        return [(f"{title} [{case_id}]", (value,), self.rules + rules)
                for case_id, value, rules in self.params]


def registrar(checks: list[Check]) -> Callable[..., Callable]:
    """The ``check(function, weight, *rules, params=())`` decorator that appends each
    decorated function to ``checks`` as a :class:`Check`."""

    def check(function: str, weight: float, *rules: str, params: Params = ()) -> Callable:
        def register(run: Callable[..., None]) -> Callable[..., None]:
            checks.append(Check(function, weight, rules, run, params))
            return run

        return register

    return check

"""The engine knows no assignment, and its modules import each other without cycles.

Every assignment declares itself in ``assignments/<name>/`` (:mod:`autograder.assignment`);
the engine (``autograder/``) must not name any of them: not their functions, their module
or helper files, their data sets, their rules or the mistakes their catalogues name. Its
import graph (every ``import`` of an ``autograder`` module, at any depth of a module) must
have no cycle, between modules and between sub-packages.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from autograder.assignment import ASSIGNMENTS_DIR
from autograder.assignment import load as load_assignment
from autograder.paths import PACKAGE_DIR

ASSIGNMENTS = sorted(p.parent.name for p in ASSIGNMENTS_DIR.glob("*/assignment.py"))


def _names(name: str) -> set[str]:
    """What would show that a file knows the assignment ``name``: its functions, module,
    helper modules, the words its declaration lists (data set, parameters), the rule
    identifiers of its suites and the entries of its mistake catalogue."""
    assignment = load_assignment(name)
    words = {*assignment.functions, assignment.module, name,
             *(helper.stem for helper in assignment.helpers)}
    words |= set(getattr(assignment.declaration, "ENGINE_MUST_NOT_NAME", ()))
    catalogue = getattr(assignment.declaration, "MISTAKES", None)
    if catalogue:  # its public functions, but for names the engine has for its own use
        words |= _functions(Path(catalogue)) - {
            name for path in PACKAGE_DIR.rglob("*.py") for name in _functions(path)}
    for suite in (assignment.hidden_suite, assignment.public_suite):
        for test in suite.glob("*.py"):
            for rules in re.findall(r"mark\.rule\(([^)]*)\)", test.read_text()):
                words |= set(re.findall(r"\"([^\"]+)\"", rules))
    return words


def _functions(path: Path) -> set[str]:
    return {node.name for node in ast.parse(path.read_text()).body
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}


def _engine_files() -> list[Path]:
    return sorted(p for p in PACKAGE_DIR.rglob("*") if p.is_file()
                  and "__pycache__" not in p.parts and p.suffix != ".pyc")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_engine_names_nothing_of_an_assignment(name: str) -> None:
    words = _names(name)
    assert len(words) > 5, words
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)),
                         re.IGNORECASE)
    hits = []
    for path in _engine_files():
        relative = path.relative_to(PACKAGE_DIR).as_posix()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            found = pattern.search(line)
            if found:
                hits.append(f"autograder/{relative}:{number}: {found.group()!r}: "
                            f"{line.strip()[:90]}")
    assert not hits, f"the engine names the assignment {name}:\n" + "\n".join(hits)


def test_the_assignments_name_what_the_engine_is_searched_for() -> None:
    """The search above looks for real words: a declaration that names its data set and
    its mistakes makes the search stricter, so each assignment of the kit does."""
    for name in ASSIGNMENTS:
        assert set(getattr(load_assignment(name).declaration, "ENGINE_MUST_NOT_NAME", ())), name


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Each engine module and the engine modules it imports (anywhere in its code)."""
    modules = {_module_name(p): p for p in PACKAGE_DIR.rglob("*.py")
               if "__pycache__" not in p.parts and "files" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            found |= {t for t in targets if t in modules and t != name}
        graph[name] = found
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` as a list of nodes, or [] when there is none."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_engine_modules_import_each_other_without_cycles() -> None:
    graph = _imports()
    assert "autograder.grading.grade" in graph["autograder.grading.batch"]  # the graph is real
    assert not _cycle(graph), " -> ".join(_cycle(graph))


def test_engine_sub_packages_import_each_other_without_cycles() -> None:
    """Sub-packages and the top-level modules (``cli``, ``config``...) as nodes."""

    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    graph: dict[str, set[str]] = {}
    for module, targets in _imports().items():
        graph.setdefault(package(module), set()).update(
            package(t) for t in targets if package(t) != package(module))
    assert {"autograder.sandbox", "autograder.grading", "autograder.reports"} <= set(graph)
    assert not _cycle(graph), " -> ".join(_cycle(graph))



@pytest.mark.parametrize("name", [name for name in ASSIGNMENTS
                                  if (ASSIGNMENTS_DIR / name / "selfcheck").is_dir()])
def test_an_assignments_self_check_package_is_its_own(name: str) -> None:
    """An assignment's ``selfcheck/`` modules and the engine's generic ones make one package
    per assignment: no module name is there twice (one would hide the other, in the kit and
    in a bundle), its checks are its own whatever package was made before, and the generic
    modules are the engine's (a check's Failure is the one the engine catches)."""
    from autograder import selfcheck

    assignment = load_assignment(name)
    own = [path.stem for path in assignment.self_check_folder.glob("*.py")
           if path.name != "__init__.py"]
    assert "public_checks" in own
    assert not set(own) & set(selfcheck.generic_modules()), own
    for other in ASSIGNMENTS:  # made first, another assignment's package hides nothing
        if other != name and (ASSIGNMENTS_DIR / other / "selfcheck").is_dir():
            load_assignment(other).public_checks()
    checks = assignment.public_checks()
    assert Path(checks.__file__).parent == assignment.self_check_folder
    assert (checks.MODULE, tuple(checks.FUNCTIONS)) == (assignment.module, assignment.functions)
    package = assignment.self_check()
    assert package.messages is selfcheck.messages and package.compare is selfcheck.compare

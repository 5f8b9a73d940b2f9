"""The student bundle's leak check: no solution in any form may leave the kit.

``autograder release`` runs :func:`scan` on every file it is about to write and refuses
to write the bundle when it finds anything:

- a line of the reference's solution regions (whitespace ignored), unless the contract
  material (the specification ``SPEC.md``, the stub, the notebook, the helpers) states
  that line itself, as the specification does the draw rule;
- a line of the hidden tests, unless the contract material or the kit's own public checks
  (``autograder/selfcheck``, the assignment's public suite) hold it too, as they do shared
  helper lines and messages; a hidden line that derives a hidden seed or calls the reference is
  always a leak;
- the hidden suite's seed, or a seed derived from it for a hidden test;
- code, outside the stub's own functions, that draws a random mask (a comparison with a
  random draw, ``binomial``, ``choice``) or runs a backward pass (a product with a
  transposed matrix, a relu derivative such as ``dZ * (Z > 0)``);
- an import of the kit (``autograder``, ``reference``, ``grader_config``, the hidden
  tests, the assignment's known-good substitutes), or a string naming one of their files:
  the bundle must stand alone;
- ``einsum`` or ``tensordot`` anywhere outside the stub (they can hide a transpose);
- a file of a type the bundle does not ship, or data that is not plain (``.npz`` files
  are read with ``allow_pickle=False``).

The reference, the hidden suite and the substitutes are those the released assignment
declares (:mod:`autograder.assignment`), and the hidden seed that of its config; both
default to the kit's own ``grader_config.py``.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder import config as config_module
from autograder.assignment import Assignment
from autograder.selfcheck.notebook_source import code_cells

TEXT_SUFFIXES = (".py", ".md", ".txt")
MIN_LINE = 12  # shorter lines ("return A, None") are too common to say anything
_KIT_MODULES = frozenset({"autograder", "reference", "grader_config", "tests", "conftest"})
_MASK_DRAWS = {"random", "rand", "uniform", "random_sample", "binomial", "choice",
               "integers", "bernoulli"}
_BEGIN, _END = "# BEGIN SOLUTION", "# END SOLUTION"
_SEED_LABEL = re.compile(r"""seed_for\(\s*f?["']([^"']+)["']""")
_ALWAYS_SECRET = ("seed_for(", "reference.")


def _assignment(assignment: Assignment | None) -> Assignment:
    return config_module.kit_assignment() if assignment is None else assignment


def forbidden_imports(assignment: Assignment | None = None) -> frozenset[str]:
    """The modules a bundle may not import: the kit's own, and the known-good substitutes."""
    substitutes = _assignment(assignment).substitutes
    return _KIT_MODULES | ({substitutes.stem} if substitutes else set())


def _kit_paths(assignment: Assignment | None = None) -> tuple[str, ...]:
    """Parts of the kit's file paths that a bundle's strings may not name: the reference
    and the hidden suite by their last two path parts, so that a relative path to either
    (``../grader/reference.py``) is caught as well as the full one."""
    assignment = _assignment(assignment)
    reference, hidden = assignment.reference, assignment.hidden_suite
    paths = [f"{reference.parent.name}/{reference.stem}", f"{hidden.parent.name}/{hidden.name}",
             "grader_config", "autograder/"]
    if assignment.substitutes:
        paths.append(assignment.substitutes.stem)
    return tuple(paths)


@dataclass(frozen=True)
class Secrets:
    """What must not appear in a bundle."""

    solution_lines: frozenset[str]
    hidden_lines: frozenset[str]
    seeds: frozenset[str]


def normalize(line: str) -> str:
    """A line with its whitespace collapsed, for comparisons that ignore layout."""
    return " ".join(line.split())


def solution_lines(reference_source: str) -> list[str]:
    """The lines between the reference's solution markers."""
    lines, inside = [], False
    for line in reference_source.splitlines():
        if line.strip() == _BEGIN:
            inside = True
        elif line.strip() == _END:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def derived_seeds(hidden_seed: int, labels: set[str]) -> set[int]:
    """The per-test seeds of the hidden suite (as the grading plugin derives them)."""
    seeds = set()
    for label in labels:
        digest = hashlib.sha256(f"{hidden_seed}:{label}".encode()).digest()
        seeds.add(int.from_bytes(digest[:8], "little"))
    return seeds


def _flat(texts: list[str]) -> str:
    return "\n".join(normalize(line) for text in texts for line in text.splitlines())


def _meaningful(lines: list[str], public: str) -> frozenset[str]:
    """The lines worth looking for: long enough, not comments, not stated by ``public``."""
    kept = set()
    for line in lines:
        text = normalize(line)
        if len(text) < MIN_LINE or text.startswith("#"):
            continue
        if text not in public or any(mark in text for mark in _ALWAYS_SECRET):
            kept.add(text)
    return frozenset(kept)


def kit_secrets(contract: list[str], public_checks: list[str],
                config: config_module.Config | None = None) -> Secrets:
    """The secrets of ``config``'s assignment (default: the kit's own). ``contract`` holds
    the texts that state the assignment (stub, notebook, helpers, specification),
    ``public_checks`` the kit's public check sources; their lines are public by design."""
    public = _flat(contract)
    config = config_module.load() if config is None else config
    assignment = config.assignment
    hidden_files = sorted(assignment.hidden_suite.glob("*.py"))
    hidden_text = [path.read_text(encoding="utf-8") for path in hidden_files]
    labels = {label for text in hidden_text for label in _SEED_LABEL.findall(text)}
    seeds = {config.HIDDEN_SEED, *derived_seeds(config.HIDDEN_SEED, labels)}
    return Secrets(
        solution_lines=_meaningful(
            solution_lines(assignment.reference.read_text(encoding="utf-8")), public),
        hidden_lines=_meaningful([line for text in hidden_text for line in text.splitlines()],
                                 _flat([public, *public_checks])),
        seeds=frozenset(str(seed) for seed in seeds),
    )


# --- What a file says -------------------------------------------------------------------------


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _npz_text(raw: bytes) -> str:
    """Every string an ``.npz`` holds (its entry names and text arrays); fails on objects."""
    parts = []
    with np.load(io.BytesIO(raw), allow_pickle=False) as saved:
        for name in saved.files:
            array = saved[name]  # raises ValueError for pickled (object) arrays
            parts.append(name)
            if array.dtype.kind == "U":
                text = "\n".join(str(item) for item in array.ravel())
                parts.append(text)
                with contextlib.suppress(ValueError):  # plain text, not a JSON document
                    parts.extend(_strings(json.loads(text)))
            elif array.dtype.kind not in "biuf":
                raise ValueError(f"entry {name} holds {array.dtype} data")
    return "\n".join(parts)


def _notebook_cells(raw: bytes) -> list[str]:
    notebook = json.loads(raw.decode("utf-8"))
    return [cell.source for cell in code_cells(notebook)]


def _notebook_text(raw: bytes) -> str:
    notebook = json.loads(raw.decode("utf-8"))
    return "\n".join("".join(c["source"]) if isinstance(c.get("source"), list)
                     else str(c.get("source", "")) for c in notebook.get("cells", []))


def file_text(name: str, raw: bytes) -> str:
    """What a bundle file says, as text (notebooks: their cells; ``.npz``: its strings)."""
    if name.endswith(".ipynb"):
        return _notebook_text(raw)
    if name.endswith(".npz"):
        return _npz_text(raw)
    if name.endswith(TEXT_SUFFIXES):
        return raw.decode("utf-8")
    raise ValueError("the bundle ships only .py, .ipynb, .md, .txt and .npz files")


# --- Code that computes answers -----------------------------------------------------------------


def _is_draw(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in _MASK_DRAWS)


def _is_transposed(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute) and node.attr in ("T", "mT"):
        return True
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("transpose", "swapaxes"))


def _is_relu_derivative(node: ast.AST) -> bool:
    return (isinstance(node, ast.Compare) and len(node.ops) == 1
            and isinstance(node.ops[0], ast.Gt | ast.GtE | ast.Lt | ast.LtE)
            and any(isinstance(side, ast.Constant) and side.value == 0
                    for side in (node.left, *node.comparators)))


def _is_transposed_product(node: ast.AST) -> bool:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return _is_transposed(node.left) or _is_transposed(node.right)
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("dot", "matmul")
            and any(_is_transposed(arg) for arg in node.args))


def code_findings(source: str, assignment: Assignment | None = None) -> list[str]:
    """What in ``source`` draws a mask, runs a backward pass or imports the kit (the files
    of ``assignment``, by default the kit's own)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        return [f"line {error.lineno}: not valid Python, so it cannot be checked"]
    found = []
    kit_paths, kit_modules = _kit_paths(assignment), forbidden_imports(assignment)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Compare) and any(_is_draw(part) for part in ast.walk(node)):
            found.append(f"line {line}: compares a random draw (draws a random mask)")
        elif _is_draw(node) and node.func.attr in ("binomial", "bernoulli", "choice"):
            found.append(f"line {line}: draws with {node.func.attr} (draws a random mask)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and any(
                path in node.value for path in kit_paths):
            found.append(f"line {line}: names a file of the kit ({node.value[:60]!r})")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("einsum", "tensordot"):
            found.append(f"line {line}: calls {node.func.attr} (can hide a backward pass)")
        elif _is_transposed_product(node):
            found.append(f"line {line}: multiplies by a transposed matrix (a backward pass)")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and (
                _is_relu_derivative(node.left) or _is_relu_derivative(node.right)):
            found.append(f"line {line}: multiplies by a relu derivative (a backward pass)")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if node.level == 0 else [])
            for module in modules:
                if module.split(".")[0] in kit_modules:
                    found.append(f"line {line}: imports {module}, which stays in the kit")
    return found


# --- The scan -------------------------------------------------------------------------------------


def _code_units(name: str, raw: bytes, stub_functions: frozenset[str]) -> list[tuple[str, str]]:
    """``(where, source)`` of the code in a file that the code rules apply to."""
    if name.endswith(".py"):
        return [(name, raw.decode("utf-8"))]
    if name.endswith(".ipynb"):
        return [(f"{name}, code cell {k}", source)
                for k, source in enumerate(_notebook_cells(raw), start=1)
                if normalize(source) not in stub_functions]
    return []


def scan(files: dict[str, bytes], secrets: Secrets, stub: str,
         stub_functions: frozenset[str] = frozenset(),
         assignment: Assignment | None = None) -> list[str]:
    """Every leak in ``files`` (bundle path -> bytes); an empty list means none.

    ``stub`` is the bundle path of the stub module, whose functions are the students' own
    to fill in; ``stub_functions`` the normalized sources of those functions, which the
    notebook's solution cells hold too; ``assignment`` the one released (default: the
    kit's own).
    """
    leaks = []
    for name, raw in sorted(files.items()):
        try:
            text = file_text(name, raw)
        except (ValueError, UnicodeDecodeError) as error:
            leaks.append(f"{name}: cannot be checked ({error})")
            continue
        flat = "\n".join(normalize(line) for line in text.splitlines())
        for kind, lines in (("a line of the reference solution", secrets.solution_lines),
                            ("a line of the hidden tests", secrets.hidden_lines)):
            leaks += [f"{name}: holds {kind}: {line!r}" for line in sorted(lines) if line in flat]
        leaks += [f"{name}: holds the hidden seed or a seed derived from it"
                  for seed in sorted(secrets.seeds) if re.search(rf"(?<!\d){seed}(?!\d)", text)]
        if name == stub:
            continue
        for where, source in _code_units(name, raw, stub_functions):
            leaks += [f"{where}: {finding}" for finding in code_findings(source, assignment)]
    return leaks


def read_folder(folder: Path) -> dict[str, bytes]:
    """The files of a bundle folder, keyed by their path inside it."""
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}

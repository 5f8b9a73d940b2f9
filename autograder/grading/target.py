"""What ``autograder check`` checks: the submission the student means.

With no path, it is the assignment's module file (``MODULE.py`` or ``MODULE.ipynb``) in the
current folder; when there is neither, the student is told what to pass instead (the kit's own
stub is never checked by accident). A single file that imports modules of its own from
its folder (``import mymath`` next to ``mymath.py``) is checked together with them, as a
folder submission holding the file and those modules.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

from autograder.assignment import Assignment
from autograder.selfcheck.notebook_source import code_cells


class NoSubmission(ValueError):
    """No submission where the student pointed (or in the current folder)."""


def resolve(argument: str | None, cwd: Path, assignment: Assignment) -> Path:
    """The file or folder to check, from the command line's optional path."""
    py, ipynb = assignment.submission_names
    if argument:
        path = Path(argument)
        if not path.exists():
            raise NoSubmission(f"{path} does not exist; give the path of your {py} "
                               f"or {ipynb}, or of the folder that holds it.")
        return path
    found = [cwd / name for name in (py, ipynb) if (cwd / name).is_file()]
    if len(found) == 1:
        return found[0]
    if found:
        raise NoSubmission(f"{cwd} holds both {py} and {ipynb}; say "
                           f"which one to check, e.g. `autograder check {ipynb}`.")
    raise NoSubmission(
        f"there is no {py} or {ipynb} in this folder ({cwd}). Run "
        "the command in the folder of your work, or give its path: `autograder check "
        f"path/to/{py}` (or .ipynb, or the folder).")


def _imported_names(source: str) -> set[str]:
    """Top-level module names that ``source`` imports anywhere (absolute imports only)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _source_of(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix != ".ipynb":
        return text
    try:
        cells = code_cells(json.loads(text))
    except (ValueError, AttributeError):
        return ""
    lines = [line for cell in cells for line in cell.source.splitlines()
             if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def sibling_modules(path: Path, shipped: set[str]) -> list[Path]:
    """The modules and packages next to ``path`` that it imports, directly or through them,
    except the ``shipped`` helper modules (the grader provides its own copy)."""
    folder, found, pending = path.parent, [], [path]
    while pending:
        current = pending.pop()
        for name in sorted(_imported_names(_source_of(current)) - shipped):
            for candidate in (folder / f"{name}.py", folder / name):
                usable = candidate.is_file() or (candidate / "__init__.py").is_file()
                if usable and candidate != path and candidate not in found \
                        and not candidate.is_symlink():
                    found.append(candidate)
                    if candidate.is_file():
                        pending.append(candidate)
    return found


def with_siblings(path: Path, workdir: Path, assignment: Assignment) -> Path:
    """``path`` itself, or a folder in ``workdir`` holding it (as the assignment's module
    file) and the sibling modules it imports, when there are any."""
    if path.is_dir():
        return path
    siblings = sibling_modules(path, {helper.stem for helper in assignment.helpers})
    if not siblings:
        return path
    folder = workdir / path.parent.resolve().name
    folder.mkdir(parents=True)
    shutil.copyfile(path, folder / f"{assignment.module}{path.suffix}")
    for sibling in siblings:
        if sibling.is_dir():
            shutil.copytree(sibling, folder / sibling.name, symlinks=False,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(sibling, folder / sibling.name)
    return folder

"""What the sandbox shows of the Python installation: the standard library and the allowed packages.

A submission may import numpy, scipy and its assignment's student helpers; matplotlib
(and what it needs) is there too so that a notebook that imports pyplot for its plots
still loads. Nothing else of the grader's environment is visible: not the virtual
environment (whose ``.pth`` finder and ``pyvenv.cfg`` name the checkout, and whose other
packages ship data files such as the assignments' data sets), not the interpreter's own
``site-packages``, not the distribution's ``dist-packages``.

The allowed distributions (and their requirements) are gathered once into a package view
outside the checkout (``$REGKIT_CACHE/sandbox-view/<digest>``, files hard-linked when the
file system allows it, else copied), so that even the kernel's mount table inside the
sandbox names no folder of the checkout. The view is mounted at ``/sandbox/packages``.
"""

from __future__ import annotations

import compileall
import functools
import hashlib
import importlib.metadata as metadata
import os
import re
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

ALLOWED = ("numpy", "scipy", "matplotlib")
MOUNT_POINT = "/sandbox/packages"
VIEW_VARIABLE = "REGKIT_SANDBOX_VIEW"
_SKIPPED_FILES = ("direct_url.json", "RECORD", "INSTALLER", "REQUESTED")


def _requirements(name: str) -> list[str]:
    names = []
    for requirement in metadata.requires(name) or []:
        if "extra ==" in requirement:
            continue
        names.append(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
    return names


def distributions() -> list[metadata.Distribution]:
    """The allowed distributions and everything they require, each once."""
    seen: dict[str, metadata.Distribution] = {}
    todo = list(ALLOWED)
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            seen[key] = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        todo += _requirements(name)
    return [seen[key] for key in sorted(seen)]


def _top_level(distribution: metadata.Distribution) -> set[Path]:
    """The top-level files and folders a distribution installed into site-packages."""
    found = set()
    for file in distribution.files or []:
        first = file.parts[0]
        if first in ("..", "__pycache__") or first.endswith(".pth") or "__editable__" in first:
            continue
        found.add(Path(distribution.locate_file(first)))
    return found


def _copy_tree(source: Path, target: Path) -> None:
    def link(src: str, dst: str) -> None:
        if Path(src).name in _SKIPPED_FILES:
            return
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    if source.is_dir():
        shutil.copytree(source, target, copy_function=link, symlinks=False,
                        ignore=shutil.ignore_patterns("__pycache__"))
    else:
        link(str(source), str(target))


def cache_root() -> Path:
    """The kit's cache folder: ``$REGKIT_CACHE``, by default ``~/.cache/autograder-kit``."""
    return Path(os.environ.get("REGKIT_CACHE", Path.home() / ".cache" / "autograder-kit"))


@functools.cache
def package_view() -> Path:
    """The folder of allowed packages (built on first use, then reused).

    A batch finds it once and hands it to its grading processes in ``REGKIT_SANDBOX_VIEW``
    (reading the packages' metadata takes a second or two).
    """
    known = os.environ.get(VIEW_VARIABLE)
    if known and Path(known).is_dir():
        return Path(known)
    found = distributions()
    digest = hashlib.sha256(f"{sys.version};{MOUNT_POINT};".encode())
    for d in found:  # an upgrade or another environment gives another view
        digest.update(f"{d.metadata['Name']}=={d.version}@{d.locate_file('')};".encode())
    root = cache_root() / "sandbox-view"
    view = root / digest.hexdigest()[:20]
    if view.is_dir():
        return view
    sources = sorted({path for d in found for path in _top_level(d) if path.exists()})
    root.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
    for source in sources:
        _copy_tree(source, building / source.name)
    # Fresh bytecode naming the paths inside the sandbox (the environment's own .pyc files
    # carry the checkout's path in their code objects).
    compileall.compile_dir(building, ddir=MOUNT_POINT, quiet=2, workers=0)
    for path in [building, *building.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
    try:
        building.rename(view)
    except OSError:  # another grading process finished the same view first
        shutil.rmtree(building, ignore_errors=True)
    return view


def hidden_site_folders() -> list[str]:
    """Site-packages folders of the interpreter and the system, to cover with empty tmpfs."""
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
    candidates = {sysconfig.get_path(kind, vars=base) for kind in ("purelib", "platlib")}
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates |= {"/usr/lib/python3/dist-packages", f"/usr/lib/{version}/site-packages",
                   f"/usr/local/lib/{version}/dist-packages",
                   f"/usr/local/lib/{version}/site-packages"}
    return sorted(path for path in candidates if Path(path).is_dir())


def interpreter() -> str:
    """The real interpreter binary (not the virtual environment's link to it)."""
    return os.path.realpath(getattr(sys, "_base_executable", sys.executable))

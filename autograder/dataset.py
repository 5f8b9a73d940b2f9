"""The assignment's data set as a batch hands it to its grading processes: one file.

Loading a data set can be slow (an assignment may import scikit-learn to split thousands
of images), so the saved file is kept in the kit's cache folder (``$REGKIT_CACHE``, by
default ``~/.cache/autograder-kit``) under a name made from everything that decides its
content: the assignment's folder and helpers and the config file. A later batch, or a
Gradescope upload after the image's set-up, reads it back instead. A cached file that
cannot be read back is made again; where the cache folder cannot be written, the file
goes to the batch's own scratch folder.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from autograder.assignment import Assignment
from autograder.config import Config
from autograder.sandbox.view import cache_root


def _key(assignment: Assignment, config: Config) -> str:
    digest = hashlib.sha256()
    files = [config.path, *assignment.helpers, *sorted(
        path for path in assignment.folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts)]
    for path in files:
        digest.update(str(path.relative_to(path.anchor)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def saved(assignment: Assignment, config: Config, scratch: Path) -> Path | None:
    """The data set saved as a file (None when the assignment has none).

    Raises :class:`autograder.assignment.DataProblem` when it cannot be loaded.
    """
    if not assignment.has_data:
        return None
    cached = cache_root() / f"data-{assignment.name}-{_key(assignment, config)}.npz"
    try:
        assignment.hook("load_saved_data")(cached)
        return cached
    except (OSError, ValueError, KeyError, TypeError):
        pass
    loaded = assignment.load_data(config)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=cached.parent, suffix=".npz")
        os.close(handle)
        assignment.hook("save_data")(loaded, Path(partial))
        os.replace(partial, cached)
        return cached
    except OSError:
        assignment.hook("save_data")(loaded, scratch / "data.npz")
        return scratch / "data.npz"

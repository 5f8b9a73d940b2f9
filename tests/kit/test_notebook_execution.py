"""The student notebook, filled in correctly, runs from top to bottom and shows its figure.

The notebook is executed as Jupyter runs it (nbclient with a real kernel), in a folder
holding only what a student gets next to it (``nn_helpers.py``). Every code cell must
run without an error, and the experiment must leave a PNG image of its curves: the
figure a student is meant to look at. The nbgrader source notebook (whose experiment is
guarded so that nbgrader's grading skips it) is executed the same way, as a student of
an nbgrader course runs it.
"""

from __future__ import annotations

import base64
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader_course import LESSON, fill

from assignments.regularization.assignment import NN_HELPERS as HELPERS_FILE
from autograder import stubgen
from grader_config import POINTS

KERNEL_TIMEOUT_S = 600


def _notebook(kind: str) -> nbformat.NotebookNode:
    """The student notebook filled in, or the nbgrader source (which holds the solutions)."""
    if kind == "student notebook":
        return fill(nbformat.read(LESSON.notebook, as_version=4))
    return stubgen.make_nbgrader_source(LESSON, POINTS)


@pytest.fixture(scope="module", params=["student notebook", "nbgrader source"])
def executed(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    folder = tmp_path_factory.mktemp("student")
    shutil.copyfile(HELPERS_FILE, folder / HELPERS_FILE.name)
    notebook = _notebook(request.param)
    environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    environment.pop("NBGRADER_EXECUTION", None)
    client = NotebookClient(notebook, timeout=KERNEL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    client.execute(env=environment)
    nbformat.write(notebook, folder / "executed.ipynb")
    return notebook


def _cell(notebook: nbformat.NotebookNode, cell_id: str) -> nbformat.NotebookNode:
    return next(cell for cell in notebook.cells if cell.id == cell_id)


def test_every_cell_runs_without_an_error(executed: nbformat.NotebookNode) -> None:
    for cell in executed.cells:
        if cell.cell_type != "code":
            continue
        errors = [out for out in cell.outputs if out.output_type == "error"]
        if errors:
            pytest.fail(f"cell {cell.id!r} raised {errors[0].ename}: {errors[0].evalue}")
        if cell.execution_count is None:
            pytest.fail(f"cell {cell.id!r} was not run")


def test_experiment_shows_its_figure_as_an_image(executed: nbformat.NotebookNode) -> None:
    outputs = _cell(executed, "experiment").outputs
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    if len(images) != 1:
        pytest.fail(f"the experiment cell shows {len(images)} PNG images, expected 1: "
                    f"{[sorted(out.get('data', {})) for out in outputs]}")
    png = base64.b64decode(images[0]["data"]["image/png"])
    if not png.startswith(b"\x89PNG") or len(png) < 20_000:
        pytest.fail(f"the figure is not a real plot ({len(png)} bytes)")


def test_experiment_reports_training_and_test_accuracy(executed: nbformat.NotebookNode) -> None:
    printed = "".join(out.get("text", "") for out in _cell(executed, "experiment").outputs
                      if out.output_type == "stream")
    for words in ("no regularization", "L2", "training accuracy", "test accuracy"):
        if words not in printed:
            pytest.fail(f"the experiment does not print {words!r}; it printed:\n{printed}")


def test_self_checks_print_what_they_promise(executed: nbformat.NotebookNode) -> None:
    printed = "".join(out.get("text", "") for out in _cell(executed, "check-l2").outputs)
    if "penalty: 0.51" not in printed or "[True, True]" not in printed:
        pytest.fail(f"the L2 self-check printed something unexpected:\n{printed}")
    printed = "".join(out.get("text", "") for out in _cell(executed, "check-train").outputs)
    if "loss went down: True" not in printed or "params passed in unchanged: True" not in printed:
        pytest.fail(f"the training self-check printed something unexpected:\n{printed}")


def test_saved_figure_shows_the_train_test_gap_on_whole_epochs(tmp_path: Path) -> None:
    sys.path.insert(0, str(HELPERS_FILE.parent))
    try:
        import nn_helpers
    finally:
        sys.path.remove(str(HELPERS_FILE.parent))
    histories = {
        "plain": {"loss": [1.0, 0.5, 0.2], "train_accuracy": [0.8, 0.95, 1.0],
                  "test_accuracy": [0.75, 0.8, 0.82]},
        "regularized": {"loss": [1.1, 0.7, 0.5], "train_accuracy": [0.78, 0.9, 0.92],
                        "test_accuracy": [0.76, 0.84, 0.87]},
    }
    figure = nn_helpers.plot_training_curves(histories, tmp_path / "curves.png")
    ax_loss, ax_acc = figure.axes
    if len(ax_acc.lines) != 4 or len(ax_loss.lines) != 2:
        pytest.fail("the accuracy panel must show training and test curves of both runs")
    ticks = [tick for tick in ax_acc.get_xticks() if 1 <= tick <= 3]
    if not ticks or any(tick != int(tick) for tick in ticks):
        pytest.fail(f"epoch ticks are not whole numbers: {ax_acc.get_xticks()}")
    if not figure._repr_png_().startswith(b"\x89PNG"):
        pytest.fail("the figure has no PNG form for Jupyter")

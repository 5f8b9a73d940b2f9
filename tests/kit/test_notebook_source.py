"""The bounds and line numbering of :mod:`autograder.selfcheck.notebook_source`.

The grader turns a notebook into a module in its own process, before any time limit
applies: IPython's transformer must never make the grading fail, nor run for long (it
tokenizes a whole cell again for each magic or shell line), and a cell is cut into
statements by the line numbers Python gives them, which count only ``\\n``, ``\\r\\n`` and
``\\r`` as line breaks. No submission code runs here except the extracted definitions.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from autograder.grading import notebook
from autograder.selfcheck import notebook_source

inputtransformer2 = pytest.importorskip("IPython.core.inputtransformer2")
TransformerManager = inputtransformer2.TransformerManager

REPO = Path(__file__).resolve().parents[2]
CORRECT = (REPO / "samples" / "class" / "ada_lovelace.py").read_text()
FUNCTIONS = {"l2_regularization", "dropout", "train_mlp"}
CODE_LIMIT = notebook_source.MAX_CODE_CHARS
TOKENIZED_LIMIT = notebook_source.MAX_CODE_CHARS + notebook_source.MAX_RETOKENIZED_CHARS
TOO_MANY = ("too many magics (%...) or shell commands (!...) to read - the whole cell was "
            "left out; move its definitions to a cell without them")


def _notebook(*sources: str) -> bytes:
    """Notebook bytes with one code cell per source."""
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return nbformat.writes(book).encode()


def _extract(*sources: str) -> notebook_source.ExtractedModule:
    return notebook.extract(_notebook(*sources), frozenset())


def _defined(source: str) -> set[str]:
    return {node.name for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)}


def _run(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "regularization.py", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.fixture
def tokenized(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The characters of each pass IPython's transformer tokenizes, in order."""
    passes: list[int] = []
    original = TransformerManager.do_one_token_transform

    def counted(self: object, lines: list[str]) -> tuple[bool, list[str]]:
        passes.append(sum(map(len, lines)))
        return original(self, lines)

    monkeypatch.setattr(TransformerManager, "do_one_token_transform", counted)
    yield passes


# --- the transformer never makes the grading fail -------------------------------------------

def test_transformer_failure_leaves_only_that_cell_out(monkeypatch: pytest.MonkeyPatch) -> None:
    original = TransformerManager.do_token_transforms

    def failing(self: object, lines: list[str]) -> list[str]:
        if any("echo" in line for line in lines):
            raise RuntimeError("Input transformation still changing after 500 iterations.")
        return original(self, lines)

    monkeypatch.setattr(TransformerManager, "do_token_transforms", failing)
    extracted = _extract(CORRECT, "!echo setting up\ndef lost():\n    return 1", "%pwd")
    assert _defined(extracted.source) == FUNCTIONS
    assert extracted.skipped == [
        "cell 2: its magics (%...) or shell commands (!...) could not be read (RuntimeError) "
        "- the whole cell was left out; move its definitions to a cell without them",
        "cell 3, line 1: a magic (%...) or shell command (!...) - not run"]


def test_501_shell_lines_leave_their_cell_out(tokenized: list[int]) -> None:
    """IPython gives up after 500 passes with a RuntimeError; the budget stops it sooner."""
    extracted = _extract(CORRECT, "!echo setting up\n" * 501)
    assert _defined(extracted.source) == FUNCTIONS
    compile(extracted.source, "regularization.py", "exec")
    assert extracted.skipped == [f"cell 2: {TOO_MANY}"]
    assert sum(tokenized) <= TOKENIZED_LIMIT and len(tokenized) < 100


def test_many_shell_lines_in_a_long_cell_cost_a_bounded_tokenizing(
        tokenized: list[int]) -> None:
    """120 shell lines in a 90 KB cell: IPython alone would tokenize it 121 times."""
    cell = "!a\n" * 120 + "x = 1\n" * 15_000
    extracted = _extract(cell, CORRECT)
    assert _defined(extracted.source) == FUNCTIONS
    assert extracted.skipped == [f"cell 1: {TOO_MANY}"]
    assert sum(tokenized) <= TOKENIZED_LIMIT and len(tokenized) <= 5


def test_a_cell_past_the_code_limit_is_left_out_untokenized(tokenized: list[int]) -> None:
    bomb = "!a\n" * 120 + "x = 1\n" * 60_000
    extracted = _extract(CORRECT, bomb, "def after():\n    return 2")
    assert _defined(extracted.source) == FUNCTIONS | {"after"}
    assert extracted.skipped == [
        "cell 2: too long (360,360 characters; the grader reads 100,000 characters of code "
        "from a notebook) - the whole cell was left out; keep large data out of code cells"]
    assert len(tokenized) == 2, "one pass for each cell read, none for the long one"


def test_a_megabyte_of_cells_is_read_up_to_the_limits(tokenized: list[int]) -> None:
    cell = "%time 1\n" + "a\n" * 2_000
    count = 1_000_000 // len(cell)
    extracted = _extract(CORRECT, *[cell] * count)
    assert sum(tokenized) <= TOKENIZED_LIMIT
    assert _defined(extracted.source) == FUNCTIONS
    read = (CODE_LIMIT - len(CORRECT)) // len(cell)
    too_long = [note for note in extracted.skipped if "too long" in note]
    assert len(too_long) == count - read
    assert too_long[0].startswith(f"cell {read + 2}: too long (4,008 characters")


def test_escape_free_cells_are_read_after_the_tokenizing_budget_is_spent() -> None:
    """Only passes after a cell's first are charged: a flood of shell lines in one cell
    cannot cost a later cell of plain definitions its grading."""
    extracted = _extract(*["!echo flood\n" * 600] * 3, CORRECT)
    assert _defined(extracted.source) == FUNCTIONS
    assert extracted.skipped == [f"cell {n}: {TOO_MANY}" for n in (1, 2, 3)]


# --- lines as Python counts them -------------------------------------------------------------

SEPARATORS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def test_form_feed_between_functions_keeps_every_line() -> None:
    """``str.splitlines`` counts the form feed as a line: the next function lost its last
    line (its ``return``)."""
    cell = ("def first(x):\n    y = x + 1\n    return y\n\n\x0c\n"
            "def second(x):\n    z = x * 2\n    return z, x\n\n\x0c\nLIMIT = 3\nprint(LIMIT)")
    extracted = _extract(cell)
    namespace = _run(extracted.source)
    assert namespace["first"](1) == 2 and namespace["second"](3) == (6, 3)
    assert namespace["LIMIT"] == 3
    assert extracted.skipped == ["cell 1, line 12: `print(LIMIT)` - top-level code, not run "
                                 "when grading"]


@pytest.mark.parametrize("separator", SEPARATORS, ids=[hex(ord(s)) for s in SEPARATORS])
def test_separators_inside_comments_and_strings_stay_inside_their_line(separator: str) -> None:
    cell = (f"def f(x):\n    # the penalty:{separator}lambda * sum of squares\n"
            "    return x + 1\n\n"
            f"TEXT = 'a{separator}b'  # a{separator}b\n"
            f"print('c{separator}d')\nprint(2)\n")
    extracted = _extract(cell)
    namespace = _run(extracted.source)
    assert namespace["f"](1) == 2 and namespace["TEXT"] == f"a{separator}b"
    assert extracted.skipped == [
        f"cell 1, line 6: `print('c{separator}d')` - top-level code, not run when grading",
        "cell 1, line 7: `print(2)` - top-level code, not run when grading"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_line_endings_are_lines(newline: str) -> None:
    cell = newline.join(["X = (1,", "     2)", "def f():", "    return X", "f()"])
    extracted = _extract(cell)
    assert _run(extracted.source)["f"]() == (1, 2)
    assert extracted.skipped == ["cell 1, line 5: `f()` - top-level code, not run when grading"]


def test_without_ipython_the_line_rule_splits_lines_as_python(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notebook_source, "_bounded_manager", lambda: None)
    cells = [notebook_source.Cell("X = 1\r%time y\r\ndef f():\x0c\n    return X\r!ls", 1)]
    extracted = notebook_source.definitions(cells)
    assert _run(extracted.source)["f"]() == 1
    assert extracted.skipped == [
        f"cell 1, line {n}: a magic (%...) or shell command (!...) - not run" for n in (2, 5)]


@pytest.mark.parametrize("text", [
    "a = 1\rb = 'é\u2028x'; c = 2\r\ndef f():\x0c\n    return 1  # c\u2028d\nz = (3,\r\n4)\n",
    "x = [1,\n\x0c 2]; y = 'ü' ;  z = {'k':\r\n 'ß\x85'}\n",
])
def test_statement_spans_are_those_of_ast(text: str) -> None:
    """The segment of a statement, found from precomputed line offsets, is exactly
    ``ast.get_source_segment`` (which splits the whole text again for each statement)."""
    spans = notebook_source._Text(text)
    for node in ast.parse(text).body:
        assert spans.span(node) == ast.get_source_segment(text, node)

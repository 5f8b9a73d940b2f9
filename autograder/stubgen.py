"""Generate the student stub and notebook from the reference solution.

``reference/regularization.py`` is the single source of the assignment. This module turns
it into what students get:

- ``assignments/regularization/regularization.py``: the reference with each region between
  ``# BEGIN SOLUTION`` and ``# END SOLUTION`` replaced by ``raise NotImplementedError`` (with
  a message saying what to implement) and a student-facing module docstring;
- ``assignments/regularization/regularization.ipynb``: the same functions, one per cell,
  between the math behind them, self-checks and an MNIST experiment.

Both files are committed. ``python -m autograder.stubgen`` rewrites them;
``python -m autograder.stubgen --check`` rewrites nothing and exits 1, naming each file and
showing a short diff, when a committed file differs from what the reference generates (the
kit's tests run it, so the stubs cannot drift from the reference unnoticed). Output is
deterministic: fixed cell ids, no timestamps, no outputs, so a re-run is byte-identical.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference" / "regularization.py"
STUB = ROOT / "assignments" / "regularization" / "regularization.py"
NOTEBOOK = ROOT / "assignments" / "regularization" / "regularization.ipynb"

BEGIN_MARK = "# BEGIN SOLUTION"
END_MARK = "# END SOLUTION"
DIFF_LINES = 40  # lines of diff shown per drifted file

# What each stubbed function must do, shown by the NotImplementedError that replaces its
# solution. One entry per function holding a solution region; each string is one source line.
STUB_MESSAGES: dict[str, tuple[str, ...]] = {
    "l2_regularization": (
        "l2_regularization: return (penalty, grads) where penalty is the Python float ",
        "lambda_ * (sum of W ** 2 over every matrix) and grads[k] is 2 * lambda_ * weights[k].",
    ),
    "dropout": (
        "dropout: raise ValueError unless 0 < p <= 1; when training, draw ",
        "keep = rng.random(A.shape) < p once, set mask = keep / p (A's dtype) and return ",
        "(A * mask, mask); when not training, return (A, None).",
    ),
    "train_mlp": (
        "train_mlp: copy params, then for each epoch shuffle with rng.permutation(n), run ",
        "forward (relu, dropout, softmax), loss (+ L2 penalty), backward (reuse the dropout ",
        "masks) and an SGD step per mini-batch; return (params, {'loss': [one per epoch]}).",
    ),
}

STUDENT_DOCSTRING = '''\
"""Regularization assignment: an L2 penalty, inverted dropout and an MLP trained with both.

Fill in the three functions below where they raise NotImplementedError. Keep their
names, parameters and return values as they are: the grader calls them exactly as
written here, with inputs you do not see. Each docstring states what the function
must do; regularization.ipynb (hand in either file) explains the math behind them.

You may import numpy, scipy and nn_helpers (shipped next to this file), and define
helper functions of your own.

Check your work with the public checks, from this folder:

    python check.py regularization.py

(or, where the whole grading kit is installed, autograder check regularization.py).
SPEC.md, next to this file, states the same rules in one place.
"""'''

NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


class StubError(Exception):
    """The reference cannot be turned into a stub (unbalanced markers, missing message...)."""


@dataclass(frozen=True)
class Stub:
    """The generated stub module and the parts of it that the notebook reuses."""

    source: str
    imports: str  # the module's import lines, without ``from __future__`` ones
    functions: dict[str, str]  # function name -> its source text, in file order


def _solution_regions(lines: list[str]) -> list[tuple[int, int]]:
    """Return (begin, end) 0-based line indices of each solution region, checking balance."""
    regions: list[tuple[int, int]] = []
    begin: int | None = None
    for index, line in enumerate(lines):
        text = line.strip()
        if text == BEGIN_MARK:
            if begin is not None:
                raise StubError(f"line {index + 1}: {BEGIN_MARK} inside another solution region")
            begin = index
        elif text == END_MARK:
            if begin is None:
                raise StubError(f"line {index + 1}: {END_MARK} without {BEGIN_MARK}")
            regions.append((begin, index))
            begin = None
    if begin is not None:
        raise StubError(f"line {begin + 1}: {BEGIN_MARK} is never closed")
    return regions


def _enclosing_function(tree: ast.Module, line_number: int) -> str:
    """Name of the top-level function whose body holds the 1-based ``line_number``."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.lineno <= line_number <= node.end_lineno:
            return node.name
    raise StubError(f"line {line_number}: solution region outside a top-level function")


def _raise_statement(indent: str, message: Sequence[str]) -> list[str]:
    """Source lines of ``raise NotImplementedError(...)`` with one string literal per line."""
    body = [f'{indent}    "{fragment}"' for fragment in message]
    for fragment, line in zip(message, body, strict=True):
        if '"' in fragment or "\\" in fragment or len(line) > 100:
            raise StubError(f"a stub message line has a quote, a backslash or >100 columns: {line}")
    return [f"{indent}raise NotImplementedError(", *body, f"{indent})"]


def _is_import(node: ast.AST) -> bool:
    """True for an import statement other than ``from __future__ import ...``."""
    if isinstance(node, ast.ImportFrom):
        return node.module != "__future__"
    return isinstance(node, ast.Import)


def _names_used(nodes: Sequence[ast.AST]) -> set[str]:
    """Every plain name read anywhere in ``nodes`` (annotations included)."""
    return {
        sub.id for node in nodes for sub in ast.walk(node) if isinstance(sub, ast.Name)
    }


def _mark_solution_only_imports(lines: list[str], reference: ast.Module) -> list[str]:
    """Add ``# noqa: F401`` to imports that only the removed solutions used, saying who uses them.

    Students need those names to write the solutions, so the imports stay; the comment keeps
    linters quiet and tells the student where the names are meant to be used.
    """
    stub_tree = ast.parse("\n".join(lines))
    code = [node for node in stub_tree.body if not isinstance(node, ast.Import | ast.ImportFrom)]
    used = _names_used(code)
    users = {
        node.name: _names_used([node])
        for node in reference.body
        if isinstance(node, ast.FunctionDef)
    }
    result = list(lines)
    for node in stub_tree.body:
        if not _is_import(node):
            continue
        names = [(alias.asname or alias.name).split(".")[0] for alias in node.names]
        if any(name in used for name in names):
            continue
        if node.lineno != node.end_lineno:
            raise StubError(f"line {node.lineno}: unused import spread over several lines")
        who = sorted(fn for fn, fn_names in users.items() if fn_names & set(names))
        result[node.lineno - 1] += f"  # noqa: F401 (used in {', '.join(who)})"
    return result


def make_stub(reference_source: str) -> Stub:
    """Turn the reference module's source into the student stub."""
    tree = ast.parse(reference_source)
    lines = reference_source.splitlines()
    first = tree.body[0] if tree.body else None
    if not (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        raise StubError("the reference has no module docstring to replace")
    for node in tree.body[1:]:
        if not isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef):
            raise StubError(
                f"line {node.lineno}: only imports and functions are supported at top level"
            )

    regions = _solution_regions(lines)
    stubbed = {_enclosing_function(tree, begin + 1) for begin, _ in regions}
    missing = sorted(stubbed - STUB_MESSAGES.keys())
    stale = sorted(STUB_MESSAGES.keys() - stubbed)
    if missing or stale:
        raise StubError(
            f"STUB_MESSAGES out of date: no message for {missing}, no solution region in {stale}"
        )

    # Replace from the bottom up so earlier line numbers stay valid.
    for begin, end in reversed(regions):
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        name = _enclosing_function(tree, begin + 1)
        lines[begin : end + 1] = _raise_statement(indent, STUB_MESSAGES[name])
    lines[first.lineno - 1 : first.end_lineno] = STUDENT_DOCSTRING.splitlines()
    lines = _mark_solution_only_imports(lines, tree)
    source = "\n".join(lines) + "\n"

    stub_tree = ast.parse(source)
    stub_lines = source.splitlines()
    import_nodes = [node for node in stub_tree.body if _is_import(node)]
    # The notebook's setup cell keeps the stub's import lines, blank lines between groups
    # included, so that it stays as isort-clean as the stub file.
    import_block = stub_lines[import_nodes[0].lineno - 1 : import_nodes[-1].end_lineno]
    imports = "\n".join(line for line in import_block if not line.startswith("from __future__"))
    functions = {
        node.name: "\n".join(stub_lines[node.lineno - 1 : node.end_lineno])
        for node in stub_tree.body
        if isinstance(node, ast.FunctionDef)
    }
    return Stub(source=source, imports=imports.strip("\n"), functions=functions)


# --- Notebook -------------------------------------------------------------------------

INTRO = r"""# Regularization: an L2 penalty and dropout

A 784-256-128-10 network has about 235,000 weights. Trained long enough on a few thousand
MNIST images, it can come close to memorising them, and what it memorises (the quirks of
particular images) does not help on images it has never seen. Regularization makes that
harder. In this notebook you write the two regularizers used most with such networks:

1. an **L2 penalty** on the weight matrices, which keeps weights small;
2. **inverted dropout** on the hidden activations, which switches random units off during
   training;

and a **training loop** for the three-layer network that uses both. At the end you train it
on MNIST with and without regularization and compare the curves.

**What you hand in.** This notebook (or `regularization.py`, which holds the same three
functions) with the functions filled in. The grader keeps only the imports and the function
definitions of a notebook; cells of top-level code, like the self-checks and the experiment
below, are skipped, so you may leave them as they are. The grader calls your functions with
inputs you do not see, so follow each function's contract exactly: names, arguments, return
values, and the order in which random numbers are drawn.

`nn_helpers.py`, next to this notebook, provides `relu` and `softmax`, parameter
initialisation, accuracy, the MNIST data and the plots; you do not need to change it."""

SETUP_NOTE = r"""Run the next cell first: it imports what the three functions need."""

L2_TEXT = r"""## 1. The L2 penalty

Write $L_{\text{data}}$ for the cross-entropy of a batch. L2 regularization adds the squared
size of every weight matrix $W_1, W_2, W_3$, scaled by a strength $\lambda \ge 0$:

$$L = L_{\text{data}} + \lambda \sum_{k} \sum_{i,j} \big(W_k\big)_{ij}^2 .$$

Biases are not penalized. A large weight now costs loss by itself, so the network only keeps
one when it pays for itself on the data.

Since $\frac{d}{dw}\,\lambda w^2 = 2\lambda w$, each weight matrix gets one extra gradient
term, and the bias gradients are unchanged:

$$\frac{\partial L}{\partial W_k} = \frac{\partial L_{\text{data}}}{\partial W_k} + 2\lambda W_k .$$

Put that into a gradient step with learning rate $\eta$ and regroup:

$$W_k \leftarrow W_k - \eta\Big(\frac{\partial L_{\text{data}}}{\partial W_k} + 2\lambda W_k\Big)
= (1 - 2\eta\lambda)\,W_k - \eta\,\frac{\partial L_{\text{data}}}{\partial W_k} .$$

Every step first shrinks all weights by the same factor $1 - 2\eta\lambda$ and then applies
the usual data step, which is why the L2 penalty is also called **weight decay**. With
$\eta = 0.1$ and $\lambda = 0.01$ the factor is $0.998$.

### Contract: `l2_regularization(weights, lambda_) -> (penalty, grads)`

- `weights` is a list of 2-D float arrays, weight matrices only (never biases); `lambda_` is
  the strength $\lambda$.
- `penalty` is a Python `float`: `lambda_` times the sum of `W ** 2` over all matrices.
- `grads` is a list with one entry per matrix, in the same order: `grads[k] = 2 * lambda_ *
  weights[k]`, with the shape and dtype of `weights[k]`.
- An empty list gives `(0.0, [])`. The arrays you receive must not be modified."""

DROPOUT_TEXT = r"""## 2. Inverted dropout

During training, dropout switches each hidden unit off at random, independently for every
unit and every example. Here $p$ is the probability of **keeping** a unit ($p = 0.8$ keeps
about 80% of them). Since a different random subset of units is active on every batch, no
unit can count on a particular other unit being there, so what the network learns is spread
over many units; the trained network acts like an average of many thinned networks.

For an activation matrix $A$, draw a keep indicator $k_{ij}$ that is 1 with probability $p$
and 0 otherwise. Multiplying by $k$ alone would make the expected activation $p\,a_{ij}$ in
training but $a_{ij}$ at test time, where dropout is off: the next layer would see inputs
about $1/p$ times larger than those it was trained on. **Inverted** dropout removes that gap
during training, by scaling the kept units up by $1/p$:

$$M_{ij} = \frac{k_{ij}}{p}, \qquad \tilde A = A \odot M, \qquad
\mathbb{E}\big[\tilde a_{ij}\big] = p \cdot \frac{a_{ij}}{p} + (1-p)\cdot 0 = a_{ij} .$$

The expected activation is the same in training and at test time, so evaluation needs no
correction: it just skips dropout.

*Note.* The lesson this assignment follows uses an unscaled 0/1 mask and leaves the scaling
for later. This assignment uses the inverted form from the start, as PyTorch, CS231n and
d2l do, so your mask holds the values $0$ and $1/p$, and the tests expect exactly that.

### Contract: `dropout(A, p, training=True, rng=None) -> (out, mask)`

- `p` must satisfy `0 < p <= 1`; otherwise raise `ValueError` with a message that names
  the value of `p` received.
- `rng` is a `numpy.random.Generator`; when it is `None`, use `numpy.random.default_rng()`.
- Training: draw `keep = rng.random(A.shape) < p` (exactly one such draw per call), set
  `mask = keep / p` in `A`'s float dtype, and return `(A * mask, mask)`.
- Not training: return `(A, None)` and draw no random numbers.
- Never modify `A` in place.

The tests replay your generator, so draw the mask exactly this way: another method (such as
`rng.binomial`) can be statistically fine and still give masks other than the expected
ones."""

TRAIN_TEXT = r"""## 3. Training the MLP with both

The network is $X \to 256 \to 128 \to 10$ on MNIST (any sizes in the tests). With dropout
between the layers, the forward pass on a batch of $m$ rows is

$$Z_1 = X W_1 + b_1,\quad A_1 = \mathrm{drop}\big(\mathrm{relu}(Z_1)\big),\quad
Z_2 = A_1 W_2 + b_2,\quad A_2 = \mathrm{drop}\big(\mathrm{relu}(Z_2)\big),$$
$$Z_3 = A_2 W_3 + b_3,\quad A_3 = \mathrm{softmax}(Z_3).$$

**Backward through dropout.** Dropout multiplies element by element by a fixed mask:
$\tilde A = A \odot M$. So the gradient flows back through the same multiplication,
$\partial L / \partial A = (\partial L / \partial \tilde A) \odot M$: units that were
switched off get no gradient, and kept ones get theirs scaled by $1/p$, exactly as their
outputs were. Keep the masks from the forward pass for the backward pass; a new draw would
send gradients through units the forward pass never used.

The lesson computes the output first and applies dropout afterwards, so there dropout never
reaches the loss. Here dropout sits between the layers, and $A_1, A_2$ in the backward pass
are the values after dropout.

### Contract: `train_mlp`

```
train_mlp(params, X, Y, *, lr=0.1, epochs=20, batch_size=64, lambda_=0.0, keep_prob=1.0,
          rng=None) -> (params, history)
```

- `params` holds `W1 (d,h1)`, `b1 (1,h1)`, `W2 (h1,h2)`, `b2 (1,h2)`, `W3 (h2,c)`,
  `b3 (1,c)`. Do not modify the caller's dict or its arrays (rebinding its keys counts):
  work on a copy and return a new dict.
- `X` is `(n, d)`, `Y` is one-hot `(n, c)`. `rng` as in `dropout`.
- Each epoch: `order = rng.permutation(n)`; the mini-batches are consecutive slices of
  `order`, `batch_size` rows each (the last one may be smaller), taken in that order.
- Forward as above. Dropout is applied as `dropout(A1, keep_prob, True, rng)`, then the
  same for `A2`, only when `keep_prob < 1`; with `keep_prob == 1` it is not called and no
  random numbers are drawn.
- Batch loss: `-mean(sum(Y * log(A3 + 1e-15), axis=1))`, plus the L2 penalty of
  `[W1, W2, W3]` when `lambda_ > 0`.
- Backward: `dZ3 = (A3 - Y) / m`; `gW3 = A2.T @ dZ3`; `gb3 = dZ3.sum(0, keepdims=True)`;
  `dA2 = dZ3 @ W3.T`, times `M2` when dropout is on; `dZ2 = dA2 * (Z2 > 0)`;
  `gW2 = A1.T @ dZ2`; `gb2` likewise; `dA1 = dZ2 @ W2.T`, times `M1`;
  `dZ1 = dA1 * (Z1 > 0)`; `gW1 = X.T @ dZ1`; `gb1` likewise.
- When `lambda_ > 0`, add the L2 gradients to `gW1, gW2, gW3` (never to the biases).
- Update all six: `param -= lr * grad`.
- `history["loss"]` is a list of `epochs` Python floats, each the plain mean of that
  epoch's batch losses."""

CHECKS_TEXT = r"""## Check your functions

The cells below run each function on a tiny example and print what to expect. They raise
`NotImplementedError` until the function is filled in. They are not the grader's tests: for
those, open a terminal in this folder and run

```
autograder check regularization.ipynb
```

which runs the public tests against your notebook and says what went wrong, if anything."""

CHECK_L2 = r"""# The lesson's first exercise: 0.01 * (30 + 21) = 0.51.
W1 = np.array([[1.0, 2.0], [3.0, 4.0]])
W2 = np.array([[0.5, 1.5], [2.5, 3.5]])
penalty, grads = l2_regularization([W1, W2], 0.01)
print("penalty:", penalty, "(expected 0.51)")
print("penalty is a Python float:", isinstance(penalty, float))
print("gradient for W1:\n", grads[0])
print("gradient for W2:\n", grads[1])
same = [np.allclose(grad, 0.02 * W) for grad, W in zip(grads, [W1, W2], strict=True)]
print("grads equal 2 * lambda * W:", same, "(expected [True, True])")
print("empty list:", l2_regularization([], 0.01), "(expected (0.0, []))")"""

CHECK_DROPOUT = r"""A = np.ones((1000, 200))
out, mask = dropout(A, 0.8, training=True, rng=np.random.default_rng(0))
print("fraction kept:", np.mean(mask > 0), "(expected close to 0.8)")
print("mask values:", np.unique(mask), "(expected [0.   1.25])")
print("mean activation:", out.mean(), "(expected close to 1.0, as without dropout)")
print("A unchanged:", np.all(A == 1.0))
out_eval, mask_eval = dropout(A, 0.8, training=False)
print("evaluation leaves A as it is:", np.array_equal(out_eval, A), "and mask", mask_eval)
try:
    dropout(A, 1.5)
except ValueError as error:
    print("p = 1.5 rejected:", error)
else:
    print("p = 1.5 should have raised ValueError")"""

CHECK_TRAIN = r"""from nn_helpers import accuracy, init_params, one_hot

# Two classes in 20 dimensions, a 20-32-16-2 network, both regularizers on.
toy_rng = np.random.default_rng(1)
X_toy = toy_rng.standard_normal((256, 20))
Y_toy = one_hot((X_toy[:, 0] + X_toy[:, 1] > 0).astype(int), 2)
toy_params = init_params([20, 32, 16, 2], toy_rng, scale=0.5)
toy_before = {name: value.copy() for name, value in toy_params.items()}
trained, history = train_mlp(
    toy_params, X_toy, Y_toy, lr=0.1, epochs=15, batch_size=32,
    lambda_=0.001, keep_prob=0.9, rng=np.random.default_rng(2),
)
print("loss per epoch:", np.round(history["loss"], 3))
print("loss went down:", history["loss"][-1] < history["loss"][0])
print("training accuracy:", accuracy(trained, X_toy, Y_toy), "(expected well above 0.5)")
unchanged = all(np.array_equal(toy_params[name], toy_before[name]) for name in toy_params)
print("params passed in unchanged:", unchanged)"""

EXPERIMENT_TEXT = r"""## Experiment: MNIST with and without regularization

The lesson's settings: a 784-256-128-10 network with weights drawn as
`0.01 * standard_normal` from a seeded generator and zero biases, learning rate 0.1,
20 epochs, batches of 64; regularized with `lambda_=0.01` and `keep_prob=0.8`. Both runs
start from the same initial weights. `train_with_curves` trains one epoch at a time with your
`train_mlp`, recording the loss and the test accuracy after each epoch, and
`plot_training_curves` draws both curves for the two runs.

`load_mnist()` loads a fixed 5,000-image MNIST subset (500 images per class) split 80/20
into training and test sets; it needs no network after the first load. Training takes a
minute or two."""

EXPERIMENT = r"""from nn_helpers import (
    init_params,
    load_mnist,
    plot_training_curves,
    train_with_curves,
)

split = load_mnist()
runs = {
    "no regularization": {},
    "L2 0.01 + dropout 0.8": {"lambda_": 0.01, "keep_prob": 0.8},
}
trained, histories = {}, {}
for label, regularization in runs.items():
    start = init_params([784, 256, 128, 10], np.random.default_rng(7), scale=0.01)
    trained[label], histories[label] = train_with_curves(
        train_mlp, start, split, epochs=20, rng=np.random.default_rng(11),
        lr=0.1, batch_size=64, **regularization,
    )
    print(f"{label}: test accuracy after 20 epochs {histories[label]['test_accuracy'][-1]:.4f}")
plot_training_curves(histories)"""


QUESTIONS = r"""## Questions to think about

1. The regularized run usually ends with a *higher* training loss. Which part of
   `history["loss"]` is responsible, and why does a higher training loss not make it the
   worse model?
2. Compute the training accuracy of both runs, for example
   `accuracy(trained[label], split.X_train, split.y_train)`. How does the gap between
   training and test accuracy differ between the two runs?
3. With $\eta = 0.1$ and $\lambda = 0.01$, each step multiplies the weights by $0.998$.
   With 4,000 training images and batches of 64, how much would a weight that gets no data
   gradient shrink over 20 epochs?
4. Try `lambda_` of 0.001 and 0.1, and `keep_prob` of 0.5. Which setting hurts, and does it
   hurt the training loss, the test accuracy or both?
5. Remove the `1 / p` scaling from your dropout (mask of 0s and 1s) and evaluate without
   dropout. The layers now see larger inputs at test time than in training. Why can the
   test accuracy still change less than you might expect? Think about what the predicted
   class depends on.
6. This subset is small. Would you expect regularization to help more or less with the full
   MNIST (`load_mnist(source="openml")`, 56,000 training images)? Why?"""


def _cell_metadata(grade_id: str, solution: bool) -> dict:
    """nbgrader metadata: solution cells are editable, every other cell is read-only."""
    return {
        "nbgrader": {
            "grade": False,
            "grade_id": grade_id,
            "locked": not solution,
            "schema_version": 3,
            "solution": solution,
            "task": False,
        }
    }


def _markdown(cell_id: str, text: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text, metadata=_cell_metadata(cell_id, False))
    cell.id = cell_id
    return cell


def _code(cell_id: str, text: str, *, solution: bool = False) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(text, metadata=_cell_metadata(cell_id, solution))
    cell.id = cell_id
    return cell


def make_notebook(stub: Stub) -> nbformat.NotebookNode:
    """Build the student notebook around the stub's imports and functions."""
    expected = ["l2_regularization", "dropout", "train_mlp"]
    if list(stub.functions) != expected:
        raise StubError(f"the notebook expects functions {expected}, got {list(stub.functions)}")
    cells = [
        _markdown("intro", INTRO),
        _markdown("setup-note", SETUP_NOTE),
        _code("setup", stub.imports),
        _markdown("l2-text", L2_TEXT),
        _code("l2-regularization", stub.functions["l2_regularization"], solution=True),
        _markdown("dropout-text", DROPOUT_TEXT),
        _code("dropout", stub.functions["dropout"], solution=True),
        _markdown("train-text", TRAIN_TEXT),
        _code("train-mlp", stub.functions["train_mlp"], solution=True),
        _markdown("checks-text", CHECKS_TEXT),
        _code("check-l2", CHECK_L2),
        _code("check-dropout", CHECK_DROPOUT),
        _code("check-train", CHECK_TRAIN),
        _markdown("experiment-text", EXPERIMENT_TEXT),
        _code("experiment", EXPERIMENT),
        _markdown("questions", QUESTIONS),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=NOTEBOOK_METADATA)
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    nbformat.validate(notebook)
    return notebook


def render_notebook(notebook: nbformat.NotebookNode) -> str:
    """Serialise deterministically (sorted keys, fixed indent, trailing newline)."""
    text = nbformat.writes(notebook, version=4)
    return text if text.endswith("\n") else text + "\n"


def generate(reference: Path = REFERENCE) -> dict[Path, str]:
    """Return the text of every generated file, keyed by its path."""
    stub = make_stub(reference.read_text(encoding="utf-8"))
    return {STUB: stub.source, NOTEBOOK: render_notebook(make_notebook(stub))}


def drift(files: dict[Path, str]) -> list[str]:
    """Describe each file on disk that differs from its generated text (empty: no drift)."""
    reports = []
    for path, text in files.items():
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        if not path.exists():
            reports.append(f"{shown}: missing")
            continue
        current = path.read_text(encoding="utf-8")
        if current == text:
            continue
        diff = list(
            difflib.unified_diff(
                current.splitlines(),
                text.splitlines(),
                f"{shown} (committed)",
                f"{shown} (generated)",
                lineterm="",
            )
        )
        more = len(diff) - DIFF_LINES
        tail = [f"... {more} more diff lines"] if more > 0 else []
        shown_diff = "\n".join(diff[:DIFF_LINES] + tail)
        reports.append(f"{shown}: differs from what the reference generates\n{shown_diff}")
    return reports


def main(argv: Sequence[str] | None = None) -> int:
    """Write the generated files, or with ``--check`` report drift and exit 1 if any."""
    parser = argparse.ArgumentParser(
        prog="python -m autograder.stubgen",
        description="Generate the student stub and notebook from reference/regularization.py.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and show a diff if a committed file differs",
    )
    args = parser.parse_args(argv)
    try:
        files = generate()
    except StubError as error:
        print(f"stubgen: cannot generate from {REFERENCE}: {error}", file=sys.stderr)
        return 2
    if args.check:
        reports = drift(files)
        for report in reports:
            print(report)
        if reports:
            print("Run `python -m autograder.stubgen` to regenerate them.")
            return 1
        print("stubs are up to date with the reference")
        return 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

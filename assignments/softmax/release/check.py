"""Self-check of the softmax assignment.

    python check.py                   # checks softmax.py (or .ipynb) here
    python check.py softmax.ipynb     # or a file, or a folder

Runs the public checks on your three functions, prints how many pass per function and,
for each one that fails, what was expected, what your code did and, when it can tell,
the likely cause. It exits with 0 when every public check passes, 1 otherwise.

It needs only numpy. The expected values are stored in expectations.npz (computed when
the assignment was released); the checks themselves are in the selfcheck folder. The
graded tests check the same rules on other inputs, and also train your train_softmax on
the digits, so passing every check here is a good sign but not a guarantee.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from selfcheck.runner import main  # noqa: E402 - after the bundle's folder is on the path

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], Path(__file__)))

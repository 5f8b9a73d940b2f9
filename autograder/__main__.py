"""``python -m autograder`` runs the command line."""

import sys

from autograder.command import main

if __name__ == "__main__":
    sys.exit(main())

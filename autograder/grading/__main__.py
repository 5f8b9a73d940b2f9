"""``python -m autograder.grading``: grade one submission in a fresh process (the batch
runner starts one per student)."""

import sys

from autograder.grading.grade import main

sys.exit(main())

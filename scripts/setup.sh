#!/usr/bin/env bash
# Sets up the kit on a fresh machine: bubblewrap (the sandbox, via apt-get when it can),
# a virtual environment in .venv and the kit with its development tools.
set -euo pipefail
cd "$(dirname "$0")/.."

# libseccomp2: the library behind the workers' seccomp filter (pyseccomp loads it).
if ! command -v bwrap >/dev/null 2>&1 || ! ldconfig -p 2>/dev/null | grep -q libseccomp.so.2; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq bubblewrap libseccomp2 >/dev/null
    elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
        sudo apt-get update -qq && sudo apt-get install -y -qq bubblewrap libseccomp2 >/dev/null
    else
        echo "setup: bubblewrap (bwrap) or libseccomp2 is not installed and cannot be" \
             "installed here; grading falls back to process limits only and the isolation" \
             "tests fail." >&2
    fi
fi

# Chromium (headless) is what the kit's tests open the class report in.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
        && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
        || echo "setup: Chromium could not be installed; the class-report test fails." >&2
fi

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

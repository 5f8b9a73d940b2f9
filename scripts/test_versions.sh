#!/usr/bin/env bash
# Runs the kit's tests on the lowest and the highest supported Python (3.10 and 3.13).
# The full suite runs once on the default interpreter (the README's test command); here
# each other version gets its own virtual environment (.venv-3.10, .venv-3.13) and a
# representative subset: the wire protocol, the sandbox's trust boundaries (seccomp,
# memory group, package view), grading end to end through the command line's batch runner
# and its fork server (including the hidden suite's MNIST training) and the generated
# files. Lint and the batch runner's own edge cases do not depend on the interpreter and
# run once, in the full suite.
# An interpreter that cannot be found is an error, not a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSIONS=("${@:-3.10 3.13}")
SUBSET=(tests/kit/test_protocol.py tests/kit/test_trust.py tests/kit/test_cli_edges.py
        tests/kit/test_stubs.py tests/kit/test_reference_and_stub_scores.py)

find_python() {
    local version="$1" found
    found="$(command -v "python$version" || true)"
    # A pyenv shim is on PATH even when its version is not selected: try it first.
    if [ -n "$found" ] && ! "$found" -c "" >/dev/null 2>&1; then
        found=""
    fi
    if [ -z "$found" ]; then
        found="$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$version".*/bin/python 2>/dev/null \
                 | sort -V | tail -n 1 || true)"
    fi
    [ -n "$found" ] || { echo "test_versions: Python $version not found (install it, e.g." \
                              "with pyenv)" >&2; exit 1; }
    echo "$found"
}

for version in ${VERSIONS[*]}; do
    python="$(find_python "$version")"
    venv=".venv-$version"
    echo "== Python $version ($python)" >&2
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -e '.[dev]'
    "$venv/bin/python" -m pytest -q "${SUBSET[@]}"
done

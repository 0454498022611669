#!/usr/bin/env bash
# Cross-checks `softknn predict` against NumPy and scikit-learn.
#
# Creates tests/crosscheck/.venv if it is missing, installs requirements.txt into
# it when the pins changed, builds the release binary, and runs check_predict.py.
# Arguments are passed on to check_predict.py (see its --help).
# Environment: PYTHON picks the interpreter for a new venv (default python3.11).
# CARGO_TARGET_DIR, if set, is honoured like any cargo build honours it.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repository="$(cd "$here/../.." && pwd)"
venv="$here/.venv"

"$here/venv.sh"

cd "$repository"
cargo build --release --bin softknn

# Ask cargo where it put the binary: CARGO_TARGET_DIR or a cargo config may move it.
target_directory="$(cargo metadata --format-version 1 --no-deps |
    "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"

"$venv/bin/python" "$here/check_predict.py" "$target_directory/release/softknn" "$@"

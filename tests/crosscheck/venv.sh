#!/usr/bin/env bash
# Creates tests/crosscheck/.venv if it is missing and installs requirements.txt
# (pinned NumPy and scikit-learn) into it when the pins changed.
# Environment: PYTHON picks the interpreter for a new venv (default python3.11).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"

if [[ ! -x "$venv/bin/python" ]]; then
    "${PYTHON:-python3.11}" -m venv "$venv"
fi

# The copy of requirements.txt inside the venv records what was installed last.
installed="$venv/requirements.installed.txt"
if ! cmp -s "$here/requirements.txt" "$installed"; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$installed"
fi

#!/usr/bin/env bash
# Creates .venv (once) and installs the compatibility suite's pinned packages into it
# (tests/compat/requirements.txt); re-installs only when that file changes.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
requirements="$root/tests/compat/requirements.txt"
python="${PYTHON:-python3}"
stamp="$venv/.requirements.sha256"

# A venv whose interpreter went away (python upgraded or removed) is rebuilt, not patched.
if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
fi

wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install \
        --quiet --no-input -r "$requirements"
    printf '%s\n' "$wanted" >"$stamp"
fi

#!/usr/bin/env bash
# Runs the boto3 / AWS CLI compatibility suite (tests/compat) against a freshly built
# idpool binary. Extra arguments go to pytest. Exit code: pytest's.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

cargo build --quiet -p idpool-server --bin idpool
bash scripts/python-env.sh

set +e
# No .pytest_cache in the work tree.
"$root/.venv/bin/python" -m pytest -p no:cacheprovider "$root/tests/compat" "$@"
exit $?

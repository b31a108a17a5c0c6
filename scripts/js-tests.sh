#!/usr/bin/env bash
# Runs the JavaScript client suite (tests/js: AWS SDK v3 in Node, Amplify v6 in headless Chromium)
# against a freshly built idpool binary. Extra arguments go to `node --test`. Exit code: node's.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

cargo build --quiet -p idpool-server --bin idpool
bash scripts/js-env.sh

cd "$root/tests/js"
set +e
node --test "$@" ./*.test.mjs
exit $?

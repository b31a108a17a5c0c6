#!/usr/bin/env bash
# Prepares the JavaScript client suite (tests/js): its pinned npm packages (npm ci, only when
# node_modules is missing or package-lock.json changed) and Debian's Chromium for the browser test.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
js="$root/tests/js"
lock="$js/package-lock.json"
stamp="$js/node_modules/.package-lock.sha256"

command -v node >/dev/null || { echo "js-env: node is not installed" >&2; exit 1; }
command -v npm >/dev/null || { echo "js-env: npm is not installed" >&2; exit 1; }

# The stamp also records the Node version, since a different Node may need other native builds.
wanted="$(sha256sum "$lock" | cut -d' ' -f1) $(node --version)"
if [ ! -d "$js/node_modules" ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
    echo "js-env: npm ci in tests/js"
    (cd "$js" && npm ci --no-audit --no-fund --loglevel=error)
    printf '%s\n' "$wanted" >"$stamp"
fi

if [ ! -x /usr/bin/chromium ]; then
    echo "js-env: installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q chromium
fi
[ -x /usr/bin/chromium ] || { echo "js-env: /usr/bin/chromium is still missing" >&2; exit 1; }

#!/usr/bin/env bash
# The whole test suite: Rust unit, conformance, router and SDK tests, then the boto3/AWS CLI
# compatibility suite against the real binary. This is the README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test (workspace, including the AWS SDK for Rust suite)"
cargo test --workspace --all-targets

echo "== boto3 / AWS CLI compatibility suite"
bash scripts/compat.sh

echo "== AWS SDK for JavaScript v3 and Amplify v6 (headless Chromium)"
bash scripts/js-tests.sh

#!/usr/bin/env bash
# The whole test suite: Rust unit, conformance, router and SDK tests, then the boto3/AWS CLI
# compatibility suite against the real binary. This is the README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== PostgreSQL for the store's conformance tests (scripts/postgres.sh)"
# Only crates/idpool-store's conformance_postgres test uses it; without a server that test fails
# under CI and is skipped elsewhere, so a machine without PostgreSQL still runs everything else.
IDPOOL_PG_STATE=$(mktemp "${TMPDIR:-/tmp}/idpool-pg-state.XXXXXX")
export IDPOOL_PG_STATE
trap 'bash scripts/postgres.sh stop || true; rm -f "$IDPOOL_PG_STATE"' EXIT
if IDPOOL_TEST_POSTGRES_URL=$(bash scripts/postgres.sh start); then
    export IDPOOL_TEST_POSTGRES_URL
else
    echo "warning: could not start PostgreSQL; the PostgreSQL store tests will not run" >&2
fi

echo "== cargo test (workspace, including the AWS SDK for Rust suite)"
cargo test --workspace --all-targets

echo "== boto3 / AWS CLI compatibility suite"
bash scripts/compat.sh

echo "== AWS SDK for JavaScript v3 and Amplify v6 (headless Chromium)"
bash scripts/js-tests.sh

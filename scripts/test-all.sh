#!/usr/bin/env bash
# The whole test suite: Rust unit, conformance, router and SDK tests, then the boto3/AWS CLI
# compatibility suite against the real binary. This is the README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== PostgreSQL for the store's conformance tests and the SDK suite (scripts/postgres.sh)"
# The store's conformance_postgres test, the server's crash test and the second SDK suite run use
# it; without a server they fail under CI and are skipped elsewhere, so a machine without
# PostgreSQL still runs everything else.
IDPOOL_PG_STATE=$(mktemp "${TMPDIR:-/tmp}/idpool-pg-state.XXXXXX")
export IDPOOL_PG_STATE
trap 'bash scripts/postgres.sh stop || true; rm -f "$IDPOOL_PG_STATE"' EXIT
if IDPOOL_TEST_POSTGRES_URL=$(bash scripts/postgres.sh start); then
    export IDPOOL_TEST_POSTGRES_URL
else
    echo "warning: could not start PostgreSQL; the PostgreSQL store tests will not run" >&2
fi

echo "== cargo test (workspace, including the AWS SDK for Rust suite on SQLite)"
cargo test --workspace --all-targets

echo "== the AWS SDK for Rust suite again, on PostgreSQL"
if [ -n "${IDPOOL_TEST_POSTGRES_URL:-}" ]; then
    IDPOOL_TEST_ENGINE=postgres cargo test -p idpool-sdk-tests
elif [ -n "${CI:-}" ] && [ "${CI:-}" != "false" ]; then
    echo "error: CI must run the SDK suite on PostgreSQL, but PostgreSQL did not start" >&2
    exit 1
else
    echo "warning: skipped: no PostgreSQL (IDPOOL_TEST_POSTGRES_URL is not set)" >&2
fi

echo "== boto3 / AWS CLI compatibility suite"
bash scripts/compat.sh

echo "== AWS SDK for JavaScript v3 and Amplify v6 (headless Chromium)"
bash scripts/js-tests.sh

echo "== the policy evaluator against the iam-simulate oracle (needs tests/js/node_modules)"
# A fixed seed keeps CI reproducible; set IDPOOL_ORACLE_SEED to explore other cases.
IDPOOL_ORACLE_SEED="${IDPOOL_ORACLE_SEED:-20261126}" cargo test -p idpool-core --test policy_oracle -- --ignored --nocapture

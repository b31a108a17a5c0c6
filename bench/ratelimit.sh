#!/usr/bin/env bash
# Overload acceptance for the rate limits (issue 6 item 4; security-and-performance.md §6.3 (d)):
# with a per-source limit L, load at about 2L must see the excess refused with
# TooManyRequestsException while admitted requests keep p99 within 2x of an unloaded run.
# Loopback only, not part of CI. Usage: bash bench/ratelimit.sh
# Knobs (bounded): RL_LIMIT (req/s, 100-5000, default 1000), RL_DURATION (s, 2-60, default 10),
# RL_THREADS (2-16, default 8; one connection per thread).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$ROOT/bench/lib.sh"

LIMIT="${RL_LIMIT:-1000}"
DURATION="${RL_DURATION:-10}"
THREADS="${RL_THREADS:-8}"
require_knob RL_LIMIT "$LIMIT" 100 5000
require_knob RL_DURATION "$DURATION" 2 60
require_knob RL_THREADS "$THREADS" 2 16

LOG_TAG=ratelimit
ACCESS_KEY="AKIARATELIMITBENCH01"
SECRET_KEY="ratelimitBenchSecretLoopbackOnly00000000"

build_idpool
need_wrk

start_workdir idpool-ratelimit

PORT=$(free_port)
POOL="us-east-1:5e1f0c2d-7a3b-4c9d-8e6f-0a1b2c3d4e5f"
# A tenth of a second's worth at once, so the cut at L is sharp over a short run.
BURST=$(( LIMIT / 10 > 1 ? LIMIT / 10 : 1 ))
cat > "$WORK/idpool.toml" <<EOF
[rate_limits]
per_source_rps = $LIMIT
per_source_burst = $BURST
per_pool_rps = 0

[[role]]
name = "GuestRole"
assume_role_policy = '''
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"Federated": "cognito-identity.amazonaws.com"},
  "Action": "sts:AssumeRoleWithWebIdentity",
  "Condition": {"ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "unauthenticated"}}}]}
'''

[[pool]]
id = "$POOL"
name = "RateLimitBench"
allow_unauthenticated = true
[pool.roles]
unauthenticated = "arn:aws:iam::000000000000:role/GuestRole"
EOF
mkdir -p "$WORK/data"
IDPOOL_LOG=warn start_idpool "$PORT" "$WORK/data"
wait_http "http://127.0.0.1:$PORT/health" "$IDPOOL_PID" idpool

IDENTITY=$(curl -s -X POST "http://127.0.0.1:$PORT/" \
    -H 'Content-Type: application/x-amz-json-1.1' \
    -H 'X-Amz-Target: AWSCognitoIdentityService.GetId' \
    -d "{\"IdentityPoolId\":\"$POOL\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["IdentityId"])')
BODY="{\"IdentityId\":\"$IDENTITY\"}"

# Each connection waits PAUSE ms after each reply, so the offered rate is about
# THREADS * 1000 / (PAUSE + latency). The offered rate actually reached is printed with each run.
run() { # name pause_ms
    log "$1: wrk -t$THREADS -c$THREADS -d${DURATION}s, pause $2 ms per connection"
    BENCH_TARGET=GetCredentialsForIdentity BENCH_BODY="$BODY" BENCH_PAUSE_MS="$2" \
        wrk -t"$THREADS" -c"$THREADS" -d"${DURATION}s" --timeout 5s -s bench/wrk/paced.lua \
        "http://127.0.0.1:$PORT/" > "$WORK/$1.txt"
    grep '^PACED' "$WORK/$1.txt" | sed "s/^/$1 /"
    sleep 2 # let the bucket refill between runs
}
field() { grep "^$1 PACED " "$WORK/results.txt" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# Pauses chosen for about L/2 and at least 2L (latency is well under a millisecond here, and
# the pause is rounded down so the overload run errs on the heavy side).
LOW_PAUSE=$(( THREADS * 2000 / LIMIT ))
HIGH_PAUSE=$(( THREADS * 1000 / (2 * LIMIT) - 1 ))
(( LOW_PAUSE >= 1 )) || LOW_PAUSE=1
(( HIGH_PAUSE >= 0 )) || HIGH_PAUSE=0
{
    run unloaded "$LOW_PAUSE"
    run overload "$HIGH_PAUSE"
    run flood 0
} > "$WORK/results.txt"
cat "$WORK/results.txt"

BASE=$(field unloaded ok_p99_ms)
{
    echo "# Rate-limit overload run"
    echo
    echo "Command: \`bash bench/ratelimit.sh\` (RL_LIMIT=$LIMIT, RL_DURATION=$DURATION, RL_THREADS=$THREADS)."
    echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'). nproc $(nproc), $(rustc --version), $(wrk_version)."
    echo "Limit: per_source_rps = $LIMIT, per_source_burst = $BURST; unsigned GetCredentialsForIdentity"
    echo "for one guest from 127.0.0.1, $THREADS connections, one per wrk thread; latency measured per request"
    echo "in the wrk script (10 us buckets). Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    echo "| run | offered req/s | admitted req/s | throttled | other errors | admitted p50 | admitted p99 | admitted p99.9 | p99 / unloaded p99 |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for r in unloaded overload flood; do
        p99=$(field "$r" ok_p99_ms)
        ratio=$(awk -v a="$p99" -v b="$BASE" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
        echo "| $r | $(field "$r" offered_rps) | $(field "$r" admitted_rps) | $(field "$r" throttled) | $(field "$r" other) | $(field "$r" ok_p50_ms) ms | $p99 ms | $(field "$r" ok_p999_ms) ms | $ratio |"
    done
} > bench/results/ratelimit.md
cat bench/results/ratelimit.md

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

LIMIT="${RL_LIMIT:-1000}"
DURATION="${RL_DURATION:-10}"
THREADS="${RL_THREADS:-8}"
in_range() { [[ "$1" =~ ^[0-9]+$ ]] && (( $1 >= $2 && $1 <= $3 )); }
in_range "$LIMIT" 100 5000 || { echo "RL_LIMIT must be 100-5000" >&2; exit 2; }
in_range "$DURATION" 2 60 || { echo "RL_DURATION must be 2-60" >&2; exit 2; }
in_range "$THREADS" 2 16 || { echo "RL_THREADS must be 2-16" >&2; exit 2; }

log() { printf '[ratelimit] %s\n' "$*" >&2; }

log "cargo build --release -p idpool-server --bin idpool"
cargo build --release -p idpool-server --bin idpool
BIN="$ROOT/target/release/idpool"
command -v wrk >/dev/null 2>&1 || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/idpool-ratelimit.XXXXXX")"
PID=""
cleanup() {
    if [[ -n "$PID" ]]; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
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
IDPOOL_ROOT_ACCESS_KEY_ID="AKIARATELIMITBENCH01" IDPOOL_ROOT_SECRET_ACCESS_KEY="ratelimitBenchSecretLoopbackOnly00000000" \
    IDPOOL_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" \
    --config "$WORK/idpool.toml" > "$WORK/idpool.log" 2>&1 &
PID=$!
for _ in $(seq 150); do
    kill -0 "$PID" 2>/dev/null || { echo "idpool exited:" >&2; tail -20 "$WORK/idpool.log" >&2; exit 1; }
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/health" && break
    sleep 0.2
done

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
    echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'). nproc $(nproc), $(rustc --version), $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')."
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

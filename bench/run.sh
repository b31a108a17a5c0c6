#!/usr/bin/env bash
# Benchmarks idpool's release build against moto_server on loopback with identical wrk load
# (security-and-performance.md §5; peers.md §3). Not part of CI. Usage: bash bench/run.sh
# Knobs (bounded): BENCH_THREADS (1-8, default 2), BENCH_CONNECTIONS (1-256, default 16),
# BENCH_DURATION (seconds, 1-60, default 10).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

THREADS="${BENCH_THREADS:-2}"
CONNS="${BENCH_CONNECTIONS:-16}"
DURATION="${BENCH_DURATION:-10}"
in_range() { [[ "$1" =~ ^[0-9]+$ ]] && (( $1 >= $2 && $1 <= $3 )); }
in_range "$THREADS" 1 8 || { echo "BENCH_THREADS must be 1-8" >&2; exit 2; }
in_range "$CONNS" 1 256 || { echo "BENCH_CONNECTIONS must be 1-256" >&2; exit 2; }
in_range "$DURATION" 1 60 || { echo "BENCH_DURATION must be 1-60 (seconds)" >&2; exit 2; }
(( CONNS >= THREADS )) || { echo "BENCH_CONNECTIONS must be >= BENCH_THREADS" >&2; exit 2; }

ACCESS_KEY="AKIABENCHROOT0000001"
SECRET_KEY="benchSecretKeyForLoopbackOnly0000000000a"

log() { printf '[bench] %s\n' "$*" >&2; }

# --- build and tools (before anything is started, so a failure leaves nothing running) ---
log "cargo build --release -p idpool-server --bin idpool"
cargo build --release -p idpool-server --bin idpool
IDPOOL_BIN="$ROOT/target/release/idpool"
[[ -x "$IDPOOL_BIN" ]] || { echo "missing $IDPOOL_BIN" >&2; exit 1; }

if ! command -v wrk >/dev/null 2>&1; then
    log "wrk not found: apt-get install -y wrk"
    if [[ $(id -u) -eq 0 ]]; then apt-get install -y wrk >&2; else sudo apt-get install -y wrk >&2; fi
fi
command -v moto_server >/dev/null 2>&1 || { echo "moto_server is not on PATH" >&2; exit 1; }
python3 -c 'import boto3' || { echo "python3 needs boto3" >&2; exit 1; }

# --- processes and temp files, all cleaned up on exit ---
WORK="$(mktemp -d "${TMPDIR:-/tmp}/idpool-bench.XXXXXX")"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_http() { # url, pid, name
    local i
    for i in $(seq 150); do
        kill -0 "$2" 2>/dev/null || { echo "$3 exited during start:" >&2; tail -20 "$WORK/$3.log" >&2; exit 1; }
        if curl -s -o /dev/null --max-time 1 "$1"; then return 0; fi
        sleep 0.2
    done
    echo "$3 did not answer at $1 within 30 s" >&2; tail -20 "$WORK/$3.log" >&2; exit 1
}

# CPU seconds (user + system) the process has used so far, from /proc/<pid>/stat.
cpu_seconds() {
    local ticks
    ticks=$(sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}')
    awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

IDPOOL_PORT=$(free_port)
mkdir -p "$WORK/idpool-data"
# Throughput runs flood from one address; the per-source limits would measure the limiter instead
# (bench/ratelimit.sh measures that).
printf '[rate_limits]\nenabled = false\n' > "$WORK/idpool.toml"
log "starting idpool on 127.0.0.1:$IDPOOL_PORT"
IDPOOL_ROOT_ACCESS_KEY_ID="$ACCESS_KEY" IDPOOL_ROOT_SECRET_ACCESS_KEY="$SECRET_KEY" \
    "$IDPOOL_BIN" serve --listen "127.0.0.1:$IDPOOL_PORT" --data-dir "$WORK/idpool-data" \
    --config "$WORK/idpool.toml" > "$WORK/idpool.log" 2>&1 &
IDPOOL_PID=$!
PIDS+=("$IDPOOL_PID")

MOTO_PORT=$(free_port)
log "starting moto_server on 127.0.0.1:$MOTO_PORT"
# The pyenv shim execs into Python, so $! stays the server's own PID.
moto_server -H 127.0.0.1 -p "$MOTO_PORT" > "$WORK/moto.log" 2>&1 &
MOTO_PID=$!
PIDS+=("$MOTO_PID")

wait_http "http://127.0.0.1:$IDPOOL_PORT/health" "$IDPOOL_PID" idpool
wait_http "http://127.0.0.1:$MOTO_PORT/moto-api/" "$MOTO_PID" moto
tr '\0' ' ' < "/proc/$MOTO_PID/cmdline" | grep -q moto || { echo "PID $MOTO_PID is not moto_server" >&2; exit 1; }

log "setting up role, pool, roles and a guest identity on each server"
python3 bench/setup.py "http://127.0.0.1:$IDPOOL_PORT" "$ACCESS_KEY" "$SECRET_KEY" > "$WORK/setup-idpool.json"
python3 bench/setup.py "http://127.0.0.1:$MOTO_PORT" "$ACCESS_KEY" "$SECRET_KEY" > "$WORK/setup-moto.json"
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

RESULTS="$WORK/results.tsv"
: > "$RESULTS"
SCENARIOS=(GetCredentialsForIdentity GetId GetOpenIdToken)
for scenario in "${SCENARIOS[@]}"; do
    for server in idpool moto; do
        if [[ $server == idpool ]]; then port=$IDPOOL_PORT; pid=$IDPOOL_PID; else port=$MOTO_PORT; pid=$MOTO_PID; fi
        pool=$(field "$WORK/setup-$server.json" pool_id)
        identity=$(field "$WORK/setup-$server.json" identity_id)
        case $scenario in
            GetId) body="{\"IdentityPoolId\":\"$pool\"}" ;;
            *) body="{\"IdentityId\":\"$identity\"}" ;;
        esac
        load=$(cut -d' ' -f1 /proc/loadavg)
        cpu0=$(cpu_seconds "$pid")
        log "$server $scenario: wrk -t$THREADS -c$CONNS -d${DURATION}s (load average $load)"
        BENCH_TARGET="$scenario" BENCH_BODY="$body" \
            wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency \
            -s bench/wrk/cognito.lua "http://127.0.0.1:$port/" > "$WORK/wrk-$server-$scenario.txt"
        cpu1=$(cpu_seconds "$pid")
        kill -0 "$pid" 2>/dev/null || { echo "$server died during $scenario" >&2; tail -20 "$WORK/$server.log" >&2; exit 1; }
        stats=$(grep '^BENCH ' "$WORK/wrk-$server-$scenario.txt" | sed 's/^BENCH //')
        sample=$(grep '^BENCH_SAMPLE' "$WORK/wrk-$server-$scenario.txt" | sed 's/^BENCH_SAMPLE //')
        printf '%s\t%s\t%s\tcpu_s=%s\tload=%s\tsample=%s\n' "$server" "$scenario" "$stats" \
            "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')" "$load" "$sample" >> "$RESULTS"
        sleep 1
    done
done

export BENCH_CMD="bash bench/run.sh"
export BENCH_WRK="wrk -t$THREADS -c$CONNS -d${DURATION}s --timeout 5s --latency -s bench/wrk/cognito.lua http://127.0.0.1:<port>/"
export BENCH_RUSTC="$(rustc --version)"
export BENCH_MOTO="$(python3 -c 'import moto; print(moto.__version__)')"
export BENCH_WRK_VERSION="$(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
export BENCH_RSS="idpool $(rss_mb "$IDPOOL_PID") MB, moto_server $(rss_mb "$MOTO_PID") MB"
python3 bench/report.py "$RESULTS" "$WORK/setup-idpool.json" "$WORK/setup-moto.json" bench/results/latest.md

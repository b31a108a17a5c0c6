#!/usr/bin/env bash
# Benchmarks idpool's release build against moto_server on loopback with identical wrk load
# (security-and-performance.md §5; peers.md §3). Not part of CI. Usage: bash bench/run.sh
# Knobs (bounded): BENCH_THREADS (1-8, default 2), BENCH_CONNECTIONS (1-256, default 16),
# BENCH_DURATION (seconds, 1-60, default 10).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$ROOT/bench/lib.sh"
read_load_knobs

ACCESS_KEY="AKIABENCHROOT0000001"
SECRET_KEY="benchSecretKeyForLoopbackOnly0000000000a"

# --- build and tools (before anything is started, so a failure leaves nothing running) ---
build_idpool
need_wrk_or_install
need_moto
need_python python3 boto3

# --- processes and temp files, all cleaned up on exit ---
start_workdir idpool-bench

# CPU seconds (user + system) the process has used so far.
cpu_seconds() {
    awk -v t="$(cpu_ticks "$1")" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

IDPOOL_PORT=$(free_port)
mkdir -p "$WORK/idpool-data"
# Throughput runs flood from one address; the per-source limits would measure the limiter instead
# (bench/ratelimit.sh measures that).
printf '[rate_limits]\nenabled = false\n' > "$WORK/idpool.toml"
start_idpool "$IDPOOL_PORT" "$WORK/idpool-data"
MOTO_PORT=$(free_port)
start_moto "$MOTO_PORT"

wait_http "http://127.0.0.1:$IDPOOL_PORT/health" "$IDPOOL_PID" idpool
wait_moto "$MOTO_PORT"

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

BENCH_CMD="bash bench/run.sh"
BENCH_WRK="wrk -t$THREADS -c$CONNS -d${DURATION}s --timeout 5s --latency -s bench/wrk/cognito.lua http://127.0.0.1:<port>/"
BENCH_RUSTC="$(rustc --version)"
BENCH_MOTO="$(python3 -c 'import moto; print(moto.__version__)')"
BENCH_WRK_VERSION="$(wrk_version)"
BENCH_RSS="idpool $(rss_mb "$IDPOOL_PID") MB, moto_server $(rss_mb "$MOTO_PID") MB"
export BENCH_CMD BENCH_WRK BENCH_RUSTC BENCH_MOTO BENCH_WRK_VERSION BENCH_RSS
python3 bench/report.py "$RESULTS" "$WORK/setup-idpool.json" "$WORK/setup-moto.json" bench/results/latest.md

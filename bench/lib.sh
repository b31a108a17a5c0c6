# Helpers shared by the bench/*.sh scripts: knob bounds, logging, the release build and tool checks,
# starting servers on loopback, stopping them on exit, and reading a process's CPU time and RSS.
# shellcheck shell=bash
# Sourcing defines functions and nothing else. They read and set these globals of the calling
# script: ROOT (the repository), WORK (scratch directory), PIDS (processes stopped on exit),
# ACCESS_KEY/SECRET_KEY (idpool's root key pair), IDPOOL_BIN, IDPOOL_PID, MOTO_PID, and LOG_TAG /
# LOG_CLOCK for log().

# log MESSAGE...: progress on stderr as "[TAG] MESSAGE"; TAG is LOG_TAG ("bench" when unset), with
# the UTC time after it when LOG_CLOCK=1 (the long runs, where the time tells how far along they are).
log() {
    local tag="${LOG_TAG:-bench}"
    [[ "${LOG_CLOCK:-0}" != 1 ]] || tag+=" $(date -u +%H:%M:%S)"
    printf '[%s] %s\n' "$tag" "$*" >&2
}

in_range() { [[ "$1" =~ ^[0-9]+$ ]] && (( $1 >= $2 && $1 <= $3 )); }

# require_knob NAME VALUE LOW HIGH [UNIT]: exit 2, naming the bounds, unless VALUE is a whole number
# in LOW..HIGH. Every knob is bounded so a typo cannot start an unbounded load.
require_knob() {
    in_range "$2" "$3" "$4" || { echo "$1 must be $3-$4${5:+ ($5)}" >&2; exit 2; }
}

# read_load_knobs: the wrk load shape shared by run.sh, oidc.sh, saml.sh and authorizer.sh, into
# THREADS (BENCH_THREADS, 1-8, default 2), CONNS (BENCH_CONNECTIONS, 1-256, default 16) and DURATION
# (BENCH_DURATION, seconds, 1-60, default 10).
read_load_knobs() {
    THREADS="${BENCH_THREADS:-2}"
    CONNS="${BENCH_CONNECTIONS:-16}"
    DURATION="${BENCH_DURATION:-10}"
    require_knob BENCH_THREADS "$THREADS" 1 8
    require_knob BENCH_CONNECTIONS "$CONNS" 1 256
    require_knob BENCH_DURATION "$DURATION" 1 60 seconds
    # wrk refuses fewer connections than threads.
    (( CONNS >= THREADS )) || { echo "BENCH_CONNECTIONS must be >= BENCH_THREADS" >&2; exit 2; }
}

# build_idpool: the release server binary, into IDPOOL_BIN. Called before anything is started, so a
# failed build leaves nothing running.
build_idpool() {
    log "cargo build --release -p idpool-server --bin idpool"
    cargo build --release -p idpool-server --bin idpool
    IDPOOL_BIN="$ROOT/target/release/idpool"
    [[ -x "$IDPOOL_BIN" ]] || { echo "missing $IDPOOL_BIN" >&2; exit 1; }
}

need_wrk() {
    command -v wrk >/dev/null 2>&1 || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
}

# need_wrk_or_install: the short benchmarks install wrk themselves (through sudo when not root).
need_wrk_or_install() {
    command -v wrk >/dev/null 2>&1 && return 0
    log "wrk not found: apt-get install -y wrk"
    if [[ $(id -u) -eq 0 ]]; then apt-get install -y wrk >&2; else sudo apt-get install -y wrk >&2; fi
}

need_moto() {
    command -v moto_server >/dev/null 2>&1 || { echo "moto_server is not on PATH" >&2; exit 1; }
}

# need_python PYTHON MODULE...: exit 1 unless PYTHON imports every MODULE.
need_python() {
    local py="$1" imports
    shift
    imports=$(IFS=,; printf '%s' "$*")
    "$py" -c "import $imports" || { echo "$py needs ${imports//,/ and }" >&2; exit 1; }
}

# wrk_version: "wrk <version>" for the reports (wrk -v exits 1, hence the || true).
wrk_version() { { wrk -v 2>&1 || true; } | head -1 | awk '{print $1, $2}'; }

# stop_pids PID...: TERM to all of them, then up to 5 s for each to exit before KILL; empty
# arguments are skipped, so a "not started yet" PID variable can be passed as it is.
stop_pids() {
    local pid
    for pid in "$@"; do
        [[ -z "$pid" ]] || kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "$@"; do
        [[ -n "$pid" ]] || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

bench_cleanup() {
    stop_pids "${PIDS[@]}"
    rm -rf "$WORK"
}

# start_workdir NAME [CLEANUP]: makes the scratch directory WORK ($TMPDIR/NAME.XXXXXX), empties PIDS
# and runs CLEANUP (default bench_cleanup: stop PIDS, remove WORK) on exit; INT and TERM become
# exit 130 so that the cleanup runs for them too. Processes are stopped by PID only, never by name,
# so nothing else on the machine is touched.
start_workdir() {
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
    PIDS=()
    trap -- "${2:-bench_cleanup}" EXIT
    trap 'exit 130' INT TERM
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL PID NAME: until URL answers (30 s at most); exit 1 with the tail of $WORK/NAME.log
# when the process dies first or never answers.
wait_http() {
    for _ in $(seq 150); do
        kill -0 "$2" 2>/dev/null || { echo "$3 exited during start:" >&2; tail -20 "$WORK/$3.log" >&2; exit 1; }
        if curl -s -o /dev/null --max-time 1 "$1"; then return 0; fi
        sleep 0.2
    done
    echo "$3 did not answer at $1 within 30 s" >&2; tail -20 "$WORK/$3.log" >&2; exit 1
}

# start_idpool PORT DATA_DIR [serve option...]: IDPOOL_BIN on 127.0.0.1:PORT with the root key pair
# ACCESS_KEY/SECRET_KEY and the config $WORK/idpool.toml, logging to $WORK/idpool.log; sets
# IDPOOL_PID and adds it to PIDS. Environment set on the call (IDPOOL_LOG=warn start_idpool ...)
# reaches the server.
start_idpool() {
    local port="$1" data="$2"
    shift 2
    log "starting idpool on 127.0.0.1:$port"
    IDPOOL_ROOT_ACCESS_KEY_ID="$ACCESS_KEY" IDPOOL_ROOT_SECRET_ACCESS_KEY="$SECRET_KEY" \
        "$IDPOOL_BIN" serve --listen "127.0.0.1:$port" --data-dir "$data" \
        --config "$WORK/idpool.toml" "$@" > "$WORK/idpool.log" 2>&1 &
    IDPOOL_PID=$!
    PIDS+=("$IDPOOL_PID")
}

# start_moto PORT: moto_server on 127.0.0.1:PORT, logging to $WORK/moto.log; sets MOTO_PID and adds
# it to PIDS.
start_moto() {
    log "starting moto_server on 127.0.0.1:$1"
    # The pyenv shim execs into Python, so $! stays the server's own PID.
    moto_server -H 127.0.0.1 -p "$1" > "$WORK/moto.log" 2>&1 &
    MOTO_PID=$!
    PIDS+=("$MOTO_PID")
}

# wait_moto PORT: waits for moto's API, then makes sure MOTO_PID is moto_server itself, since its
# CPU time and RSS are read by that PID.
wait_moto() {
    wait_http "http://127.0.0.1:$1/moto-api/" "$MOTO_PID" moto
    tr '\0' ' ' < "/proc/$MOTO_PID/cmdline" | grep -q moto || { echo "PID $MOTO_PID is not moto_server" >&2; exit 1; }
}

# cpu_ticks PID: user + system clock ticks the process has used so far (/proc/PID/stat; the
# command name is cut first since it may hold spaces). Divide by `getconf CLK_TCK` for seconds.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

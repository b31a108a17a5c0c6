#!/usr/bin/env bash
# Measures the authorizer for resource servers: server CPU per POST /authorize decision on a
# release build, loaded by wrk on loopback with an S3 GetObject signed by boto3 (header and
# presigned forms), next to GET /health as the HTTP floor. Not part of CI.
# Usage: bash bench/authorizer.sh. Knobs (bounded) as in bench/run.sh: BENCH_THREADS (1-8,
# default 2), BENCH_CONNECTIONS (1-256, default 16), BENCH_DURATION (seconds, 1-60, default 10).
# Target (issue 5): <= 50 µs of server CPU per decision on average.
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
TARGET_US=50

ACCESS_KEY="AKIABENCHROOT0000001"
SECRET_KEY="benchSecretKeyForLoopbackOnly0000000000a"

log() { printf '[bench] %s\n' "$*" >&2; }

log "cargo build --release -p idpool-server --bin idpool"
cargo build --release -p idpool-server --bin idpool
IDPOOL_BIN="$ROOT/target/release/idpool"
[[ -x "$IDPOOL_BIN" ]] || { echo "missing $IDPOOL_BIN" >&2; exit 1; }
if ! command -v wrk >/dev/null 2>&1; then
    log "wrk not found: apt-get install -y wrk"
    if [[ $(id -u) -eq 0 ]]; then apt-get install -y wrk >&2; else sudo apt-get install -y wrk >&2; fi
fi
python3 -c 'import boto3' || { echo "python3 needs boto3" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/idpool-authz-bench.XXXXXX")"
IDPOOL_PID=""
cleanup() {
    if [[ -n "$IDPOOL_PID" ]]; then
        kill -TERM "$IDPOOL_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$IDPOOL_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$IDPOOL_PID" 2>/dev/null || true
        wait "$IDPOOL_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$WORK/data"
: > "$WORK/idpool.toml"
log "starting idpool on 127.0.0.1:$PORT"
IDPOOL_ROOT_ACCESS_KEY_ID="$ACCESS_KEY" IDPOOL_ROOT_SECRET_ACCESS_KEY="$SECRET_KEY" \
    "$IDPOOL_BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" \
    --config "$WORK/idpool.toml" > "$WORK/idpool.log" 2>&1 &
IDPOOL_PID=$!
for i in $(seq 150); do
    kill -0 "$IDPOOL_PID" 2>/dev/null || { echo "idpool exited during start:" >&2; tail -20 "$WORK/idpool.log" >&2; exit 1; }
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/health" && break
    (( i == 150 )) && { echo "idpool did not answer within 30 s" >&2; exit 1; }
    sleep 0.2
done

# CPU seconds (user + system) the process has used so far, from /proc/<pid>/stat.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
HZ=$(getconf CLK_TCK)

# Signed just before the load: a header signature is good for 15 minutes.
log "pool, guest role and guest credentials; boto3 signs S3 GetObject (header and presigned)"
python3 bench/authorizer_setup.py "http://127.0.0.1:$PORT" "$ACCESS_KEY" "$SECRET_KEY" "$WORK" > "$WORK/setup.json"
python3 - "$WORK/setup.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
for name, p in s["probes"].items():
    if p["status"] != 200 or p["answer"].get("decision") != "Allow":
        sys.exit(f"probe {name}: HTTP {p['status']} {p['answer']}")
EOF

RESULTS="$WORK/results.tsv"
: > "$RESULTS"
for scenario in health header presigned; do
    if [[ $scenario == health ]]; then body=""; else body="$WORK/$scenario.json"; fi
    load=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(cpu_ticks "$IDPOOL_PID")
    log "$scenario: wrk -t$THREADS -c$CONNS -d${DURATION}s (load average $load)"
    BENCH_BODY_FILE="$body" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 5s \
        -s bench/wrk/authorize.lua "http://127.0.0.1:$PORT" > "$WORK/wrk-$scenario.txt"
    t1=$(cpu_ticks "$IDPOOL_PID")
    kill -0 "$IDPOOL_PID" 2>/dev/null || { echo "idpool died during $scenario" >&2; tail -20 "$WORK/idpool.log" >&2; exit 1; }
    stats=$(grep '^BENCH ' "$WORK/wrk-$scenario.txt" | sed 's/^BENCH //')
    sample=$(grep '^BENCH_SAMPLE' "$WORK/wrk-$scenario.txt" | sed 's/^BENCH_SAMPLE *//')
    printf '%s\t%s\tcpu_ticks=%s\tload=%s\tsample=%s\n' "$scenario" "$stats" "$((t1 - t0))" "$load" "$sample" >> "$RESULTS"
    sleep 1
done

OUT="bench/results/authorizer.md"
BENCH_HZ="$HZ" BENCH_TARGET_US="$TARGET_US" \
BENCH_WRK="wrk -t$THREADS -c$CONNS -d${DURATION}s --timeout 5s -s bench/wrk/authorize.lua" \
BENCH_WRK_VERSION="$(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')" \
BENCH_RUSTC="$(rustc --version)" \
BENCH_RSS="$(awk '/^VmRSS:/ { printf "%.1f MB", $2 / 1024 }' "/proc/$IDPOOL_PID/status")" \
python3 - "$RESULTS" "$WORK/setup.json" "$OUT" <<'EOF'
import datetime, json, os, sys
results, setup, out = sys.argv[1:4]
hz = int(os.environ["BENCH_HZ"]); target = float(os.environ["BENCH_TARGET_US"])
labels = {
    "health": "GET /health (HTTP floor)",
    "header": "POST /authorize, S3 GetObject, Authorization header",
    "presigned": "POST /authorize, S3 GetObject, presigned URL",
}
sizes = {k: v["bytes"] for k, v in json.load(open(setup))["probes"].items()}
rows, verdicts, details = [], [], []
for line in open(results):
    name, rest = line.rstrip("\n").split("\t", 1)
    f = {}
    for part in rest.split("\t"):
        if part.startswith("sample="):
            f["sample"] = part[len("sample="):]
        else:
            for kv in part.split():
                k, v = kv.split("=", 1)
                f[k] = v
    reqs = int(f["requests"]); secs = int(f["duration_us"]) / 1e6
    cpu_s = int(f["cpu_ticks"]) / hz
    us = cpu_s / reqs * 1e6 if reqs else float("nan")
    bad = int(f["not_allowed"]) + int(f["socket_errors"])
    rows.append([labels[name], f"{sizes.get(name, 0)} B" if name in sizes else "-",
                 f"{reqs / secs:,.0f}", f"{int(f['p50_us']) / 1000:.2f} ms",
                 f"{int(f['p99_us']) / 1000:.2f} ms", str(bad), f"{cpu_s:.2f} s", f"{us:.1f} µs"])
    if name != "health":
        ok = us <= target and bad == 0
        verdicts.append(f"{name}: {us:.1f} µs of server CPU per decision "
                        f"({'meets' if ok else 'MISSES'} the {target:.0f} µs target)")
    details.append(f"{name}: {reqs} requests in {secs:.2f} s, load average {f['load']} at start"
                   + (f"; first bad reply: `{f['sample'][:200]}`" if f.get("sample") else ""))
header = ["scenario", "question", "req/s", "p50", "p99", "errors", "server CPU", "CPU per request"]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
meta = [
    f"Command: `bash bench/authorizer.sh`; per run `{os.environ['BENCH_WRK']}` ({os.environ['BENCH_WRK_VERSION']})",
    f"Date: {now}; nproc {os.cpu_count()}; {os.environ['BENCH_RUSTC']}; idpool RSS after the runs {os.environ['BENCH_RSS']}",
    "server CPU = utime+stime delta of the idpool PID over the run (/proc/<pid>/stat); "
    "errors = replies that are not HTTP 200 with the expected body, plus socket errors. "
    "wrk shares the 2 cores with the server.",
]
md = ["# Authorizer: server CPU per decision", "",
      "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
md += ["| " + " | ".join(r) + " |" for r in rows]
md += [""] + [f"- {v}" for v in verdicts] + [""] + [f"- {m}" for m in meta] + [""]
md += [f"- {d}" for d in details]
os.makedirs(os.path.dirname(out), exist_ok=True)
open(out, "w").write("\n".join(md) + "\n")
print("\n".join(md).replace("`", ""))
print(f"\nwrote {out}")
EOF

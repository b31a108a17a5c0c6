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

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$ROOT/bench/lib.sh"
read_load_knobs
TARGET_US=50

ACCESS_KEY="AKIABENCHROOT0000001"
SECRET_KEY="benchSecretKeyForLoopbackOnly0000000000a"

build_idpool
need_wrk_or_install
need_python python3 boto3

start_workdir idpool-authz-bench

PORT=$(free_port)
mkdir -p "$WORK/data"
: > "$WORK/idpool.toml"
start_idpool "$PORT" "$WORK/data"
wait_http "http://127.0.0.1:$PORT/health" "$IDPOOL_PID" idpool

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
BENCH_WRK_VERSION="$(wrk_version)" \
BENCH_RUSTC="$(rustc --version)" \
BENCH_RSS="$(rss_mb "$IDPOOL_PID") MB" \
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

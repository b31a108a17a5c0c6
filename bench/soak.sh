#!/usr/bin/env bash
# Bounded soak (issue 6; security-and-performance.md §6.3 (c)): a mixed unsigned load of
# GetCredentialsForIdentity, GetId and GetOpenIdToken against the release build on loopback, while
# the server's RSS and open file descriptors are sampled, to show both stay flat.
# Not part of CI. Usage: bash bench/soak.sh
# Knobs (bounded): SOAK_SECONDS (60-1800, default 600), SOAK_CYCLE (seconds per wrk round, 10-120,
# default 30; every round opens fresh connections, so connection churn is part of the soak).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$ROOT/bench/lib.sh"

SECONDS_TOTAL="${SOAK_SECONDS:-600}"
CYCLE="${SOAK_CYCLE:-30}"
require_knob SOAK_SECONDS "$SECONDS_TOTAL" 60 1800
require_knob SOAK_CYCLE "$CYCLE" 10 120
SAMPLE_EVERY=15
# Connections per operation; GetId is kept to two so the database grows by hundreds of thousands
# of identities, not millions.
declare -A CONNS=([GetCredentialsForIdentity]=4 [GetId]=2 [GetOpenIdToken]=2)
OPS=(GetCredentialsForIdentity GetId GetOpenIdToken)

ACCESS_KEY="AKIABENCHROOT0000001"
SECRET_KEY="benchSecretKeyForLoopbackOnly0000000000a"

LOG_TAG=soak
LOG_CLOCK=1

build_idpool
need_wrk
need_python python3 boto3

SAMPLER_PID=""
WRK_PIDS=()
# The load and the sampler go first, so the server is stopped last.
cleanup() {
    stop_pids "${WRK_PIDS[@]}" "$SAMPLER_PID"
    bench_cleanup
}
start_workdir idpool-soak cleanup

PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
DATA="$WORK/idpool-data"
mkdir -p "$DATA"
printf '[rate_limits]\nenabled = false\n' > "$WORK/idpool.toml"
start_idpool "$PORT" "$DATA"
wait_http "$URL/health" "$IDPOOL_PID" idpool

python3 bench/setup.py "$URL" "$ACCESS_KEY" "$SECRET_KEY" > "$WORK/setup.json"
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/setup.json" "$1"; }
POOL=$(field pool_id)
GUEST=$(field identity_id)

sample() { # elapsed seconds -> one TSV row
    local rss fds thr db
    rss=$(rss_mb "$IDPOOL_PID")
    thr=$(awk '/^Threads:/ { print $2 }' "/proc/$IDPOOL_PID/status")
    fds=$(find "/proc/$IDPOOL_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
    db=$(du -cm "$DATA"/idpool.db* 2>/dev/null | awk 'END { print $1 }')
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$rss" "$fds" "$thr" "$db"
}
SERIES="$WORK/series.tsv"
sample 0 > "$SERIES"
START=$(date +%s)
(
    n_samples=$(( SECONDS_TOTAL / SAMPLE_EVERY ))
    for k in $(seq "$n_samples"); do
        sleep $(( START + k * SAMPLE_EVERY - $(date +%s) > 0 ? START + k * SAMPLE_EVERY - $(date +%s) : 0 ))
        kill -0 "$IDPOOL_PID" 2>/dev/null || exit 0
        sample $(( $(date +%s) - START )) >> "$SERIES"
    done
) &
SAMPLER_PID=$!

log "soak for ${SECONDS_TOTAL}s in ${CYCLE}s rounds; sampling RSS and fds every ${SAMPLE_EVERY}s"
RUNS="$WORK/runs.tsv"
: > "$RUNS"
max_rounds=$(( SECONDS_TOTAL / CYCLE + 1 ))
for round in $(seq "$max_rounds"); do
    left=$(( START + SECONDS_TOTAL - $(date +%s) ))
    (( left >= 1 )) || break
    d=$(( left < CYCLE ? left : CYCLE ))
    WRK_PIDS=()
    for op in "${OPS[@]}"; do
        case $op in
            GetId) body="{\"IdentityPoolId\":\"$POOL\"}" ;;
            *) body="{\"IdentityId\":\"$GUEST\"}" ;;
        esac
        BENCH_TARGET="$op" BENCH_BODY="$body" wrk -t1 -c"${CONNS[$op]}" -d"${d}s" --timeout 5s \
            -s bench/wrk/cognito.lua "$URL/" > "$WORK/wrk-$op.txt" &
        WRK_PIDS+=($!)
    done
    for p in "${WRK_PIDS[@]}"; do wait "$p" || true; done
    WRK_PIDS=()
    kill -0 "$IDPOOL_PID" 2>/dev/null || { echo "idpool died:" >&2; tail -20 "$WORK/idpool.log" >&2; exit 1; }
    for op in "${OPS[@]}"; do
        printf '%s\t%s\t%s\n' "$round" "$op" "$(grep '^BENCH ' "$WORK/wrk-$op.txt" | sed 's/^BENCH //')" >> "$RUNS"
    done
    log "round $round (${d}s): $(tail -n 3 "$RUNS" | awk -F'\t' '{ split($3, a, " "); printf "%s %s  ", $2, a[1] }')| $(tail -n 1 "$SERIES" | awk -F'\t' '{ printf "RSS %s MB, fds %s", $2, $3 }')"
done
wait "$SAMPLER_PID" || true
SAMPLER_PID=""
last_t=$(tail -n 1 "$SERIES" | cut -f1)
(( last_t >= SECONDS_TOTAL )) || sample "$(( $(date +%s) - START ))" >> "$SERIES"

export SOAK_CMD="bash bench/soak.sh" SOAK_SECONDS_TOTAL="$SECONDS_TOTAL" SOAK_CYCLE="$CYCLE"
export SOAK_CONNS="GetCredentialsForIdentity -c${CONNS[GetCredentialsForIdentity]}, GetId -c${CONNS[GetId]}, GetOpenIdToken -c${CONNS[GetOpenIdToken]}"
SOAK_ENV="$(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc), $(rustc --version), $(wrk_version)"
export SOAK_ENV
mkdir -p bench/results
python3 - "$SERIES" "$RUNS" bench/results/soak.md <<'PY'
import os, sys
series = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
runs = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
out = []
w = out.append
w("# Soak: idpool under a bounded mixed load\n")
w(f"Command: `{os.environ['SOAK_CMD']}` ({os.environ['SOAK_SECONDS_TOTAL']} s in "
  f"{os.environ['SOAK_CYCLE']} s rounds; per round, concurrently: `wrk -t1 -cN -d<round>s --timeout 5s "
  f"-s bench/wrk/cognito.lua` with {os.environ['SOAK_CONNS']}). {os.environ['SOAK_ENV']}.\n")
tot = {}
for _, op, stats in runs:
    kv = dict(p.split("=") for p in stats.split())
    t = tot.setdefault(op, {"requests": 0, "errors": 0, "us": 0, "p99": 0})
    t["requests"] += int(kv["requests"])
    t["errors"] += sum(int(kv[k]) for k in ("non200", "connect", "read", "write", "timeout"))
    t["us"] += int(kv["duration_us"])
    t["p99"] = max(t["p99"], int(kv["p99_us"]))
w("| operation | requests | mean req/s | errors | worst round p99 |")
w("|---|---|---|---|---|")
for op, t in tot.items():
    w(f"| {op} | {t['requests']:,} | {t['requests'] / (t['us'] / 1e6):,.0f} | {t['errors']} | {t['p99'] / 1000:.2f} ms |")
rss = [float(r[1]) for r in series]
fds = [int(r[2]) for r in series]
thr = [int(r[3]) for r in series]
w("")
w("| | first | last | max | min |")
w("|---|---|---|---|---|")
w(f"| RSS (MB) | {rss[0]} | {rss[-1]} | {max(rss)} | {min(rss)} |")
w(f"| open fds | {fds[0]} | {fds[-1]} | {max(fds)} | {min(fds)} |")
w(f"| threads | {thr[0]} | {thr[-1]} | {max(thr)} | {min(thr)} |")
w("")
w(f"Samples every 15 s (t = seconds since the load started; fds from `/proc/<pid>/fd`, RSS from "
  f"VmRSS; DB = idpool.db + -wal + -shm). {len(runs) // 3} wrk rounds.\n")
w("| t (s) | RSS (MB) | open fds | threads | DB (MB) |")
w("|---|---|---|---|---|")
for r in series:
    w("| " + " | ".join(r) + " |")
text = "\n".join(out) + "\n"
open(sys.argv[3], "w").write(text)
print(text)
PY

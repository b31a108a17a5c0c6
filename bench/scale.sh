#!/usr/bin/env bash
# Scale check (issue 6, "Scale"; security-and-performance.md §5, §6.3): GetId and
# GetCredentialsForIdentity latency on a pool with 1,000,000 identities against the same pool
# empty, and ListIdentities paging through all of them exactly once. Loopback only, not part
# of CI. Usage: bash bench/scale.sh
# Knobs (bounded): SCALE_IDENTITIES (1000-2000000, default 1000000), SCALE_DURATION (seconds per
# latency run, 1-30, default 5).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$ROOT/bench/lib.sh"

TARGET_IDS="${SCALE_IDENTITIES:-1000000}"
DURATION="${SCALE_DURATION:-5}"
require_knob SCALE_IDENTITIES "$TARGET_IDS" 1000 2000000
require_knob SCALE_DURATION "$DURATION" 1 30
# Latency runs use run.sh's load shape; the fill uses one connection per wrk thread so that a
# per-thread reply bound is an exact request count.
LAT_THREADS=2
LAT_CONNS=16
FILL_THREADS=16
FILL_CHUNK=100000

ACCESS_KEY="AKIABENCHROOT0000001"
SECRET_KEY="benchSecretKeyForLoopbackOnly0000000000a"

LOG_TAG=scale
LOG_CLOCK=1

build_idpool
need_wrk
need_python python3 boto3

WRK_PID=""
# A fill round's wrk runs in the background; it goes before the server.
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    stop_pids "$WRK_PID"
    bench_cleanup
}
start_workdir idpool-scale cleanup

PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
DATA="$WORK/idpool-data"
DB="$DATA/idpool.db"
mkdir -p "$DATA"
# One source floods the server; the per-source limits would measure the limiter instead.
printf '[rate_limits]\nenabled = false\n' > "$WORK/idpool.toml"
start_idpool "$PORT" "$DATA"
wait_http "$URL/health" "$IDPOOL_PID" idpool

db_mb() { du -cm "$DB" "$DB-wal" "$DB-shm" 2>/dev/null | awk 'END { print $1 }'; }
alive() { kill -0 "$IDPOOL_PID" 2>/dev/null || { echo "idpool died:" >&2; tail -20 "$WORK/idpool.log" >&2; exit 1; }; }

python3 bench/setup.py "$URL" "$ACCESS_KEY" "$SECRET_KEY" > "$WORK/setup.json"
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/setup.json" "$1"; }
POOL=$(field pool_id)
GUEST=$(field identity_id)
log "pool $POOL, guest $GUEST"

# The database is the arbiter of how many identities exist; a read-only reader sits beside the
# server's WAL writer without blocking it.
db_count() {
    python3 - "$DB" "$POOL" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=30)
print(db.execute("SELECT COUNT(*) FROM identities WHERE pool_id = ?", (sys.argv[2],)).fetchone()[0])
PY
}

RESULTS="$WORK/latency.tsv"
: > "$RESULTS"
latency_run() { # phase, operation
    local body
    case $2 in
        GetId) body="{\"IdentityPoolId\":\"$POOL\"}" ;;
        *) body="{\"IdentityId\":\"$GUEST\"}" ;;
    esac
    log "$1 $2: wrk -t$LAT_THREADS -c$LAT_CONNS -d${DURATION}s (pool holds $(db_count), load $(cut -d' ' -f1 /proc/loadavg))"
    BENCH_TARGET="$2" BENCH_BODY="$body" wrk -t"$LAT_THREADS" -c"$LAT_CONNS" -d"${DURATION}s" \
        --timeout 5s --latency -s bench/wrk/cognito.lua "$URL/" > "$WORK/wrk-$1-$2.txt"
    alive
    local stats
    stats=$(grep '^BENCH ' "$WORK/wrk-$1-$2.txt" | sed 's/^BENCH //')
    printf '%s\t%s\t%s\n' "$1" "$2" "$stats" | tee -a "$RESULTS" >&2
    sleep 1
}

T0=$(date +%s)
# setup.py made the guest and one probe GetId; the fill tops the pool up to TARGET_IDS on top.
SETUP_COUNT=$(db_count)
latency_run empty GetCredentialsForIdentity
latency_run empty GetId
EMPTY_RSS=$(rss_mb "$IDPOOL_PID")

# --- fill to TARGET_IDS + SETUP_COUNT with bounded GetId runs (the empty GetId run counts too) ---
WANT=$(( TARGET_IDS + SETUP_COUNT ))
FILL_START=$(date +%s)
FILL_CMDS=0
for round in $(seq 60); do
    have=$(db_count)
    (( have < WANT )) || break
    missing=$(( WANT - have ))
    chunk=$(( missing < FILL_CHUNK ? missing : FILL_CHUNK ))
    if (( chunk >= FILL_THREADS )); then
        threads=$FILL_THREADS; per=$(( chunk / FILL_THREADS ))
    else
        threads=$chunk; per=1
    fi
    BENCH_TARGET=GetId BENCH_BODY="{\"IdentityPoolId\":\"$POOL\"}" BENCH_PER_THREAD=$per \
        wrk -t"$threads" -c"$threads" -d120s --timeout 5s -s bench/wrk/bounded.lua "$URL/" \
        > "$WORK/fill.txt" &
    WRK_PID=$!
    FILL_CMDS=$(( FILL_CMDS + 1 ))
    # wrk's main thread sleeps for the whole -d even when every thread has stopped; once the
    # database holds this round's identities, SIGINT makes it print its summary and exit.
    round_want=$(( have + threads * per ))
    for _ in $(seq 600); do
        kill -0 "$WRK_PID" 2>/dev/null || break
        (( $(db_count) < round_want )) || { kill -INT "$WRK_PID" 2>/dev/null || true; break; }
        sleep 0.5
    done
    wait "$WRK_PID" || true
    alive
    WRK_PID=""
    line=$(grep '^BOUNDED ' "$WORK/fill.txt")
    elapsed=$(( $(date +%s) - FILL_START ))
    log "fill round $round: $line; pool holds $(db_count) / $WANT after ${elapsed}s"
    if ! grep -q "ok=$(( threads * per )) " <<<"$line"; then
        grep '^BOUNDED_SAMPLE' "$WORK/fill.txt" >&2
        echo "fill round did not get $(( threads * per )) x 200" >&2; exit 1
    fi
done
FILL_SECS=$(( $(date +%s) - FILL_START ))
FINAL=$(db_count)
(( FINAL == WANT )) || { echo "pool holds $FINAL identities, wanted $WANT" >&2; exit 1; }
log "filled: $FINAL identities in ${FILL_SECS}s; DB $(db_mb) MB; RSS $(rss_mb "$IDPOOL_PID") MB"
FULL_DB_MB=$(db_mb)
FULL_RSS_BEFORE_PAGING=$(rss_mb "$IDPOOL_PID")

# --- page through ListIdentities (signed, MaxResults 60) and compare with the database ---
log "paging ListIdentities, MaxResults 60"
PAGING_RC=0
python3 - "$URL" "$ACCESS_KEY" "$SECRET_KEY" "$POOL" "$DB" "$WANT" > "$WORK/paging.txt" <<'PY' || PAGING_RC=$?
import sqlite3, sys, time
import boto3
from botocore.config import Config

url, key, secret, pool, db, want = sys.argv[1:7]
want = int(want)
client = boto3.client(
    "cognito-identity", endpoint_url=url, region_name="us-east-1",
    aws_access_key_id=key, aws_secret_access_key=secret,
    config=Config(retries={"max_attempts": 1, "mode": "standard"}),
)
seen, dups, pages, token = set(), 0, 0, None
max_pages = want // 60 + 100  # bounded: a token that never ends stops here
start = time.monotonic()
while pages < max_pages:
    kw = {"IdentityPoolId": pool, "MaxResults": 60}
    if token:
        kw["NextToken"] = token
    resp = client.list_identities(**kw)
    pages += 1
    for ident in resp.get("Identities", []):
        i = ident["IdentityId"]
        if i in seen:
            dups += 1
        seen.add(i)
    token = resp.get("NextToken")
    if not token:
        break
    if pages % 2000 == 0:
        print(f"[scale] paging: {pages} pages, {len(seen)} ids, {time.monotonic() - start:.0f} s",
              file=sys.stderr, flush=True)
secs = time.monotonic() - start
ended = token is None
conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
in_db = {r[0] for r in conn.execute("SELECT id FROM identities WHERE pool_id = ?", (pool,))}
missing, extra = len(in_db - seen), len(seen - in_db)
ok = ended and dups == 0 and missing == 0 and extra == 0 and len(seen) == want
print(f"PAGING pages={pages} seen={len(seen)} duplicates={dups} missing={missing} extra={extra} "
      f"db={len(in_db)} want={want} ended={ended} seconds={secs:.1f} "
      f"ms_per_page={secs * 1000 / max(pages, 1):.2f} ok={ok}")
sys.exit(0 if ok else 1)
PY
alive
PAGING=$(grep '^PAGING ' "$WORK/paging.txt" | sed 's/^PAGING //')
log "paging: $PAGING"

latency_run full GetCredentialsForIdentity
latency_run full GetId
FULL_RSS=$(rss_mb "$IDPOOL_PID")
END_DB_MB=$(db_mb)
END_COUNT=$(db_count)

# --- report ---
python3 - "$RESULTS" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    phase, op, stats = line.rstrip("\n").split("\t")
    kv = dict(p.split("=") for p in stats.split())
    rows[(phase, op)] = kv
print("| operation | empty req/s | empty p50 | empty p99 | full req/s | full p50 | full p99 | p50 full/empty | p99 full/empty | errors |")
print("|---|---|---|---|---|---|---|---|---|---|")
for op in ("GetCredentialsForIdentity", "GetId"):
    e, f = rows[("empty", op)], rows[("full", op)]
    rps = lambda kv: int(kv["requests"]) / (int(kv["duration_us"]) / 1e6)
    ms = lambda kv, k: int(kv[k]) / 1000
    errs = sum(int(kv[k]) for kv in (e, f) for k in ("non200", "connect", "read", "write", "timeout"))
    print(f"| {op} | {rps(e):,.0f} | {ms(e,'p50_us'):.2f} ms | {ms(e,'p99_us'):.2f} ms | "
          f"{rps(f):,.0f} | {ms(f,'p50_us'):.2f} ms | {ms(f,'p99_us'):.2f} ms | "
          f"{int(f['p50_us'])/int(e['p50_us']):.2f}x | {int(f['p99_us'])/int(e['p99_us']):.2f}x | {errs} |")
PY
cat <<EOF

identities after fill: $FINAL (= $TARGET_IDS + $SETUP_COUNT made by setup.py), fill ${FILL_SECS}s in $FILL_CMDS bounded wrk runs (-t$FILL_THREADS -c$FILL_THREADS)
paging (rc $PAGING_RC): $PAGING
DB (idpool.db + -wal + -shm): ${FULL_DB_MB} MB after fill, ${END_DB_MB} MB at end ($END_COUNT identities after the full-pool GetId run)
idpool RSS: ${EMPTY_RSS} MB after empty runs, ${FULL_RSS_BEFORE_PAGING} MB after fill, ${FULL_RSS} MB at end
total wall time: $(( $(date +%s) - T0 ))s; date $(date -u '+%Y-%m-%d %H:%M UTC'); nproc $(nproc); $(rustc --version); $(wrk_version)
EOF
exit "$PAGING_RC"

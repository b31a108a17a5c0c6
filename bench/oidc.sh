#!/usr/bin/env bash
# GetCredentialsForIdentity with an RS256 OIDC login, idpool's release build next to moto_server,
# identical wrk load on loopback. A stand-in provider (bench/oidc_idp.py) serves discovery and
# the key set; every request carries the same ID token, so idpool verifies its signature on every
# call (keys come from its cache). moto does not verify login tokens at all. Not part of CI.
# Usage: bash bench/oidc.sh. Knobs (bounded) as in bench/run.sh: BENCH_THREADS (1-8, default 2),
# BENCH_CONNECTIONS (1-256, default 16), BENCH_DURATION (seconds, 1-60, default 10).
# Target (issue 4): >= 5,000 requests/s for idpool.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$ROOT/bench/lib.sh"
read_load_knobs
TARGET_RPS=5000

ACCESS_KEY="AKIABENCHROOT0000001"
SECRET_KEY="benchSecretKeyForLoopbackOnly0000000000a"

build_idpool
need_wrk_or_install
need_moto
need_python python3 boto3 cryptography

start_workdir idpool-oidc-bench
HZ=$(getconf CLK_TCK)

log "starting the stand-in OIDC provider"
python3 bench/oidc_idp.py "$WORK" bench-client > "$WORK/idp.log" 2>&1 &
PIDS+=("$!")
for i in $(seq 100); do [[ -s "$WORK/idp.json" ]] && break; (( i == 100 )) && { echo "OIDC provider did not start" >&2; cat "$WORK/idp.log" >&2; exit 1; }; sleep 0.1; done
ISSUER=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["issuer"])' "$WORK/idp.json")
wait_http "$ISSUER/jwks.json" "${PIDS[0]}" idp

IDPOOL_PORT=$(free_port)
mkdir -p "$WORK/idpool-data"
# Throughput runs flood from one address; the per-source limits would measure the limiter.
printf '[rate_limits]\nenabled = false\n' > "$WORK/idpool.toml"
start_idpool "$IDPOOL_PORT" "$WORK/idpool-data"
MOTO_PORT=$(free_port)
start_moto "$MOTO_PORT"
wait_http "http://127.0.0.1:$IDPOOL_PORT/health" "$IDPOOL_PID" idpool
wait_moto "$MOTO_PORT"

log "OIDC provider, pool, authenticated role and one identity (GetId with the login) on each server"
python3 bench/oidc_setup.py "http://127.0.0.1:$IDPOOL_PORT" "$ACCESS_KEY" "$SECRET_KEY" "$WORK/idp.json" > "$WORK/setup-idpool.json"
python3 bench/oidc_setup.py "http://127.0.0.1:$MOTO_PORT" "$ACCESS_KEY" "$SECRET_KEY" "$WORK/idp.json" > "$WORK/setup-moto.json"
python3 - "$WORK/setup-idpool.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
if s["probe"]["status"] != 200 or s["notes"]:
    sys.exit(f"idpool setup: {s['notes']} probe {s['probe']}")
PY
IDP_BEFORE=$(cat "$WORK/idp-requests")

RESULTS="$WORK/results.tsv"
: > "$RESULTS"
for server in idpool moto; do
    if [[ $server == idpool ]]; then port=$IDPOOL_PORT; pid=$IDPOOL_PID; else port=$MOTO_PORT; pid=$MOTO_PID; fi
    body=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); i=json.load(open(sys.argv[2]))
print(json.dumps({"IdentityId": s["identity_id"], "Logins": {i["login_key"]: i["token"]}}, separators=(",", ":")))' \
        "$WORK/setup-$server.json" "$WORK/idp.json")
    load=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(cpu_ticks "$pid")
    log "$server: wrk -t$THREADS -c$CONNS -d${DURATION}s (load average $load)"
    BENCH_TARGET=GetCredentialsForIdentity BENCH_BODY="$body" \
        wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency \
        -s bench/wrk/cognito.lua "http://127.0.0.1:$port/" > "$WORK/wrk-$server.txt"
    t1=$(cpu_ticks "$pid")
    kill -0 "$pid" 2>/dev/null || { echo "$server died during the run" >&2; tail -20 "$WORK/$server.log" >&2; exit 1; }
    stats=$(grep '^BENCH ' "$WORK/wrk-$server.txt" | sed 's/^BENCH //')
    sample=$(grep '^BENCH_SAMPLE' "$WORK/wrk-$server.txt" | sed 's/^BENCH_SAMPLE *//')
    printf '%s\t%s\tcpu_ticks=%s\tload=%s\tbody_bytes=%s\tsample=%s\n' "$server" "$stats" "$((t1 - t0))" \
        "$load" "${#body}" "$sample" >> "$RESULTS"
    sleep 1
done
IDP_AFTER=$(cat "$WORK/idp-requests")

OUT="bench/results/oidc.md"
BENCH_HZ="$HZ" BENCH_TARGET_RPS="$TARGET_RPS" BENCH_IDP_FETCHES="$((IDP_AFTER - IDP_BEFORE))" \
BENCH_WRK="wrk -t$THREADS -c$CONNS -d${DURATION}s --timeout 5s --latency -s bench/wrk/cognito.lua" \
BENCH_WRK_VERSION="$(wrk_version)" \
BENCH_RUSTC="$(rustc --version)" \
BENCH_MOTO="$(python3 -c 'import moto; print(moto.__version__)')" \
BENCH_RSS="idpool $(rss_mb "$IDPOOL_PID") MB, moto_server $(rss_mb "$MOTO_PID") MB" \
python3 - "$RESULTS" "$WORK/setup-idpool.json" "$WORK/setup-moto.json" "$OUT" <<'PY'
import datetime, json, os, sys
results, setup_idpool, setup_moto, out = sys.argv[1:5]
hz = int(os.environ["BENCH_HZ"]); target = float(os.environ["BENCH_TARGET_RPS"])
setups = {"idpool": json.load(open(setup_idpool)), "moto": json.load(open(setup_moto))}
runs = {}
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
    runs[name] = f
rps, rows, details = {}, [], []
for name in ("idpool", "moto"):
    f = runs[name]
    reqs = int(f["requests"]); secs = int(f["duration_us"]) / 1e6
    rps[name] = reqs / secs if secs else 0.0
    sock = sum(int(f[k]) for k in ("connect", "read", "write", "timeout"))
    cpu_s = int(f["cpu_ticks"]) / hz
    rows.append([name, f"{rps[name]:,.0f}", f"{int(f['p50_us']) / 1000:.2f} ms",
                 f"{int(f['p99_us']) / 1000:.2f} ms",
                 f["non200"] + (f" (+{sock} socket)" if sock else ""),
                 f"{cpu_s:.2f} s ({cpu_s / reqs * 1e6 if reqs else 0:.0f} µs/req)"])
    details.append(f"{name}: {reqs} requests in {secs:.2f} s, request body {f['body_bytes']} B, "
                   f"load average {f['load']} at start"
                   + (f"; first non-200 reply: `{f['sample'][:200]}`" if f.get("sample") else ""))
    if setups[name]["notes"]:
        details.append(f"{name} setup notes: " + "; ".join(setups[name]["notes"]))
ratio = rps["idpool"] / rps["moto"] if rps["moto"] else float("inf")
bad = int(runs["idpool"]["non200"])
ok = rps["idpool"] >= target and bad == 0
header = ["server", "req/s", "p50", "p99", "errors (non-200)", "server CPU"]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
md = ["# GetCredentialsForIdentity with an RS256 OIDC login", "",
      "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
md += ["| " + " | ".join(r) + " |" for r in rows]
md += ["",
       f"- ratio idpool/moto req/s: {ratio:.1f}",
       f"- idpool: {rps['idpool']:,.0f} req/s with {bad} errors "
       f"({'meets' if ok else 'MISSES'} the {target:,.0f} req/s target)",
       f"- key fetches by idpool during the runs: {os.environ['BENCH_IDP_FETCHES']} "
       "(the key set is cached; every request still verifies the RS256 signature)",
       "- moto does not verify login tokens, so its column measures the same request without "
       "signature checks; idpool checks issuer, audience, signature and expiry on every call", "",
       f"- Command: `bash bench/oidc.sh`; per run `{os.environ['BENCH_WRK']}` ({os.environ['BENCH_WRK_VERSION']})",
       f"- Date: {now}; nproc {os.cpu_count()}; {os.environ['BENCH_RUSTC']}; moto {os.environ['BENCH_MOTO']}; "
       f"RSS after the runs: {os.environ['BENCH_RSS']}",
       "- server CPU = utime+stime delta of the server PID over the run (/proc/<pid>/stat); "
       "wrk, the two servers and the stand-in provider share the machine's cores.", ""]
md += [f"- {d}" for d in details]
os.makedirs(os.path.dirname(out), exist_ok=True)
open(out, "w").write("\n".join(md) + "\n")
print("\n".join(md).replace("`", ""))
print(f"\nwrote {out}")
PY

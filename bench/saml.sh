#!/usr/bin/env bash
# GetCredentialsForIdentity with a SAML 2.0 login, idpool's release build next to moto_server,
# identical wrk load on loopback. The IAM SAML provider is made from the committed fixture
# metadata (crates/idpool-core/tests/fixtures/saml) and bench/saml_setup.py signs one response
# with the fixture IdP key (signxml, RSA-SHA256, exclusive c14n), valid for an hour. Every request
# carries that response, so idpool parses the XML, canonicalises the assertion and checks its
# RSA signature, conditions and role pair on every call. moto does not verify logins.
# Not part of CI.
# Usage: bash bench/saml.sh. Knobs (bounded) as in bench/run.sh: BENCH_THREADS (1-8, default 2),
# BENCH_CONNECTIONS (1-256, default 16), BENCH_DURATION (seconds, 1-60, default 10).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$ROOT/bench/lib.sh"
read_load_knobs

ACCESS_KEY="AKIABENCHROOT0000001"
SECRET_KEY="benchSecretKeyForLoopbackOnly0000000000a"
# moto's default account: with the same account the role and provider ARNs match on both
# servers, so one signed response (and one request body) serves both.
ACCOUNT_ID="123456789012"

build_idpool
need_wrk_or_install
need_moto
# signxml (and the pinned boto3) live in the repository's venv, as for tests/compat.
log "bash scripts/python-env.sh (the venv with boto3 and signxml)"
bash scripts/python-env.sh
PY="$ROOT/.venv/bin/python"
need_python "$PY" boto3 signxml

start_workdir idpool-saml-bench
HZ=$(getconf CLK_TCK)

IDPOOL_PORT=$(free_port)
mkdir -p "$WORK/idpool-data"
# Throughput runs flood from one address; the per-source limits would measure the limiter.
printf '[rate_limits]\nenabled = false\n' > "$WORK/idpool.toml"
start_idpool "$IDPOOL_PORT" "$WORK/idpool-data" --account-id "$ACCOUNT_ID"
MOTO_PORT=$(free_port)
start_moto "$MOTO_PORT"
wait_http "http://127.0.0.1:$IDPOOL_PORT/health" "$IDPOOL_PID" idpool
wait_moto "$MOTO_PORT"

log "SAML provider, pool, role and one identity (GetId with the login) on each server"
# idpool's setup signs the response and writes it; moto's reuses it when the ARNs match.
"$PY" bench/saml_setup.py "http://127.0.0.1:$IDPOOL_PORT" "$ACCESS_KEY" "$SECRET_KEY" "$WORK/response.b64" > "$WORK/setup-idpool.json"
"$PY" bench/saml_setup.py "http://127.0.0.1:$MOTO_PORT" "$ACCESS_KEY" "$SECRET_KEY" "$WORK/response.b64" > "$WORK/setup-moto.json"
"$PY" - "$WORK/setup-idpool.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
if s["probe"]["status"] != 200 or s["notes"] or not s["caller_arn"]:
    sys.exit(f"idpool setup: {s['notes']} probe {s['probe']} caller {s['caller_arn']}")
PY

RESULTS="$WORK/results.tsv"
: > "$RESULTS"
for server in idpool moto; do
    if [[ $server == idpool ]]; then port=$IDPOOL_PORT; pid=$IDPOOL_PID; else port=$MOTO_PORT; pid=$MOTO_PID; fi
    body=$("$PY" -c 'import json,sys; s=json.load(open(sys.argv[1]))
print(json.dumps({"IdentityId": s["identity_id"], "Logins": {s["login_key"]: s["response"]}}, separators=(",", ":")))' \
        "$WORK/setup-$server.json")
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
    printf '%s\t%s\tcpu_ticks=%s\tload=%s\tbody_bytes=%s\tbody_sha=%s\tsample=%s\n' "$server" "$stats" \
        "$((t1 - t0))" "$load" "${#body}" "$(printf '%s' "$body" | sha256sum | cut -c1-12)" "$sample" >> "$RESULTS"
    sleep 1
done
REFUSED=$(grep -c 'SAML response refused' "$WORK/idpool.log" || true)

OUT="bench/results/saml.md"
BENCH_HZ="$HZ" BENCH_REFUSED="$REFUSED" \
BENCH_WRK="wrk -t$THREADS -c$CONNS -d${DURATION}s --timeout 5s --latency -s bench/wrk/cognito.lua" \
BENCH_WRK_VERSION="$(wrk_version)" \
BENCH_RUSTC="$(rustc --version)" \
BENCH_MOTO="$(python3 -c 'import moto; print(moto.__version__)' 2>/dev/null || echo unknown)" \
BENCH_SIGNXML="$("$PY" -c 'from importlib.metadata import version; print(version("signxml"))')" \
BENCH_RSS="idpool $(rss_mb "$IDPOOL_PID") MB, moto_server $(rss_mb "$MOTO_PID") MB" \
"$PY" - "$RESULTS" "$WORK/setup-idpool.json" "$WORK/setup-moto.json" "$OUT" <<'PY'
import base64, datetime, json, os, sys
results, setup_idpool, setup_moto, out = sys.argv[1:5]
hz = int(os.environ["BENCH_HZ"])
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
rps, cpu_us, rows, details = {}, {}, [], []
for name in ("idpool", "moto"):
    f = runs[name]
    reqs = int(f["requests"]); secs = int(f["duration_us"]) / 1e6
    rps[name] = reqs / secs if secs else 0.0
    sock = sum(int(f[k]) for k in ("connect", "read", "write", "timeout"))
    cpu_s = int(f["cpu_ticks"]) / hz
    cpu_us[name] = cpu_s / reqs * 1e6 if reqs else 0.0
    rows.append([name, f"{rps[name]:,.0f}", f"{int(f['p50_us']) / 1000:.2f} ms",
                 f"{int(f['p99_us']) / 1000:.2f} ms",
                 f["non200"] + (f" (+{sock} socket)" if sock else ""),
                 f"{cpu_s:.2f} s ({cpu_us[name]:.0f} µs/req)"])
    details.append(f"{name}: {reqs} requests in {secs:.2f} s, request body {f['body_bytes']} B "
                   f"(sha256 {f['body_sha']}…), load average {f['load']} at start"
                   + (f"; first non-200 reply: `{f['sample'][:200]}`" if f.get("sample") else ""))
    if setups[name]["notes"]:
        details.append(f"{name} setup notes: " + "; ".join(setups[name]["notes"]))
    details.append(f"{name}: GetCallerIdentity with the probe's credentials: "
                   f"{setups[name]['caller_arn']}")
ratio = rps["idpool"] / rps["moto"] if rps["moto"] else float("inf")
bad = int(runs["idpool"]["non200"])
xml_bytes = len(base64.b64decode(setups["idpool"]["response"]))
same = setups["idpool"]["response"] == setups["moto"]["response"]
header = ["server", "req/s", "p50", "p99", "errors (non-200)", "server CPU"]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
md = ["# GetCredentialsForIdentity with a SAML 2.0 login", "",
      "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
md += ["| " + " | ".join(r) + " |" for r in rows]
md += ["",
       f"- ratio idpool/moto req/s: {ratio:.1f}",
       f"- idpool: {rps['idpool']:,.0f} req/s with {bad} errors, {cpu_us['idpool']:.0f} µs of server CPU "
       f"per request; SAML responses refused in its log: {os.environ['BENCH_REFUSED']}",
       f"- the login: one signed SAMLResponse of {xml_bytes} B of XML (base64 in the body), "
       "RSA-SHA256 enveloped signature over the Assertion (exclusive c14n), one Role attribute value; "
       + ("both servers got the same response (the bodies differ only in each server's identity id)"
          if same else "each server got its own response (see the setup notes)"),
       "- moto does not verify SAML logins, so its column measures the same request without any XML "
       "work; idpool parses the response, canonicalises and verifies the signed assertion against "
       "the provider's metadata certificate, checks issuer, audience, recipient and times, and takes "
       "the role from the assertion on every call", "",
       f"- Command: `bash bench/saml.sh`; per run `{os.environ['BENCH_WRK']}` ({os.environ['BENCH_WRK_VERSION']})",
       f"- Date: {now}; nproc {os.cpu_count()}; {os.environ['BENCH_RUSTC']}; moto {os.environ['BENCH_MOTO']}; "
       f"signxml {os.environ['BENCH_SIGNXML']}; RSS after the runs: {os.environ['BENCH_RSS']}",
       "- server CPU = utime+stime delta of the server PID over the run (/proc/<pid>/stat); "
       "wrk and the two servers share the machine's cores.", ""]
md += [f"- {d}" for d in details]
os.makedirs(os.path.dirname(out), exist_ok=True)
open(out, "w").write("\n".join(md) + "\n")
print("\n".join(md).replace("`", ""))
print(f"\nwrote {out}")
PY

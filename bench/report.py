"""Turns bench/run.sh's raw results into the comparison table (stdout and a markdown file).

Usage: python3 bench/report.py RESULTS.tsv SETUP-IDPOOL.json SETUP-MOTO.json OUT.md
Metadata comes from BENCH_* environment variables set by run.sh.
"""

import datetime
import json
import os
import platform
import sys

SCENARIOS = [
    ("GetCredentialsForIdentity", "1. GetCredentialsForIdentity (existing guest)"),
    ("GetId", "2. GetId (new guest each call)"),
    ("GetOpenIdToken", "3. GetOpenIdToken (existing guest)"),
]


def parse(path):
    runs = {}
    with open(path) as f:
        for line in f:
            server, scenario, rest = line.rstrip("\n").split("\t", 2)
            fields = {}
            for part in rest.split("\t"):
                if part.startswith("sample="):
                    fields["sample"] = part[len("sample="):]
                else:
                    for kv in part.split():
                        k, v = kv.split("=", 1)
                        fields[k] = v
            runs[(server, scenario)] = fields
    return runs


def ms(us):
    return f"{float(us) / 1000:.2f} ms"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cells(r):
    reqs = int(r["requests"])
    secs = int(r["duration_us"]) / 1e6
    rps = reqs / secs if secs else 0.0
    sock = sum(int(r[k]) for k in ("connect", "read", "write", "timeout"))
    errors = f"{r['non200']}" + (f" (+{sock} socket)" if sock else "")
    cpu = float(r["cpu_s"])
    cpu_per_req = cpu / reqs * 1000 if reqs else 0.0
    return rps, [
        f"{rps:,.0f}",
        ms(r["p50_us"]),
        ms(r["p99_us"]),
        errors,
        f"{cpu:.1f} s ({cpu_per_req:.3f} ms/req)",
    ]


def main():
    results, setup_idpool, setup_moto, out = sys.argv[1:5]
    runs = parse(results)
    setups = {
        "idpool": json.load(open(setup_idpool)),
        "moto": json.load(open(setup_moto)),
    }
    header = [
        "scenario",
        "idpool req/s", "p50", "p99", "errors", "server CPU",
        "moto req/s", "p50", "p99", "errors", "server CPU",
        "ratio (idpool/moto req/s)",
    ]
    rows = []
    for key, label in SCENARIOS:
        i_rps, i_cells = cells(runs[("idpool", key)])
        m_rps, m_cells = cells(runs[("moto", key)])
        ratio = f"{i_rps / m_rps:,.1f}x" if m_rps else "n/a"
        rows.append([label] + i_cells + m_cells + [ratio])

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    meta = [
        f"Command: `{os.environ.get('BENCH_CMD', 'bash bench/run.sh')}`",
        f"Load per run: `{os.environ.get('BENCH_WRK', '?')}` ({os.environ.get('BENCH_WRK_VERSION', 'wrk')})",
        f"Date: {now}",
        f"nproc: {os.cpu_count()}; CPU: {cpu_model()}",
        f"rustc: {os.environ.get('BENCH_RUSTC', '?')}; moto: {os.environ.get('BENCH_MOTO', '?')}; "
        f"Python {platform.python_version()}",
        f"Server RSS after all runs: {os.environ.get('BENCH_RSS', '?')}",
        "Server and load generator share this machine "
        f"({os.cpu_count()} cores): wrk's threads compete with the server for CPU, and other "
        "work on the machine (load average per run below) adds noise.",
        "errors = replies with HTTP status other than 200 (counted by the wrk Lua `response` hook), "
        "plus wrk socket errors if any. server CPU = utime+stime delta of the server PID "
        "from /proc/<pid>/stat over the run.",
    ]

    details = []
    for key, _ in SCENARIOS:
        for server in ("idpool", "moto"):
            r = runs[(server, key)]
            line = (
                f"{server} {key}: {r['requests']} requests in {int(r['duration_us']) / 1e6:.2f} s, "
                f"p90 {ms(r['p90_us'])}, max {ms(r['max_us'])}, load average {r['load']}; "
                f"socket errors connect/read/write/timeout "
                f"{r['connect']}/{r['read']}/{r['write']}/{r['timeout']}"
            )
            if r.get("sample"):
                line += f"; first non-200 reply: `{r['sample'][:200]}`"
            details.append(line)
    for server, s in setups.items():
        for note in s["notes"]:
            details.append(f"{server} setup: {note}")
        for op, p in s["probes"].items():
            if p["status"] != 200:
                details.append(f"{server} probe {op}: HTTP {p['status']} `{p['body'][:200]}`")

    # Plain-text table for the terminal.
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    fmt = " | ".join("{:<%d}" % w for w in widths)
    text = [fmt.format(*header), "-+-".join("-" * w for w in widths)]
    text += [fmt.format(*r) for r in rows]
    print()
    print("\n".join(text))
    print()
    for m in meta:
        print(m.replace("`", ""))
    print()
    for d in details:
        print("  " + d.replace("`", ""))

    md = ["# idpool vs moto_server: latest run", ""]
    md += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    md += [""] + [f"- {m}" for m in meta] + ["", "Per-run details:", ""]
    md += [f"- {d}" for d in details]
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        f.write("\n".join(md) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()

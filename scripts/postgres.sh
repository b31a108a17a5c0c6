#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for the PostgreSQL store's conformance tests.
#
#   scripts/postgres.sh start   initdb in a new temp dir, start it on 127.0.0.1 (port 5442 or
#                               the next free one), create database idpool_test and print its
#                               URL (the only line on stdout)
#   scripts/postgres.sh stop [DATA_DIR]
#                               stop the cluster `start` made and delete its data dir
#
# `start` records its data dir in $IDPOOL_PG_STATE (default: $TMPDIR/idpool-postgres.state),
# which `stop` reads when no DATA_DIR is given; give each concurrent user its own state file.
# As root the server runs as user postgres (initdb refuses root); trust auth, loopback only.
set -euo pipefail

STATE=${IDPOOL_PG_STATE:-${TMPDIR:-/tmp}/idpool-postgres.state}
FIRST_PORT=${IDPOOL_PG_PORT:-5442}

log() { echo "postgres.sh: $*" >&2; }

pg_bindir() {
    local dir=""
    if command -v pg_config >/dev/null 2>&1; then
        dir=$(pg_config --bindir)
    fi
    if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
        dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    fi
    if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
        log "no PostgreSQL server binaries found; installing the postgresql package"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    echo "$dir"
}

# Runs a command as the cluster's owner: postgres when we are root, ourselves otherwise.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
    if [ -s "$STATE" ] && [ -f "$(cat "$STATE")/postmaster.pid" ]; then
        log "a cluster from $STATE is still running ($(cat "$STATE")); stop it first"
        exit 1
    fi
    local bin data port
    bin=$(pg_bindir)
    data=$(mktemp -d "${TMPDIR:-/tmp}/idpool-pg.XXXXXX")
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres:postgres "$data"
    fi
    chmod 700 "$data"
    echo "$data" >"$STATE"
    as_owner "$bin/initdb" -D "$data" -A trust -U postgres --no-sync -E UTF8 >"$data.initdb.log" 2>&1 || {
        cat "$data.initdb.log" >&2
        exit 1
    }
    rm -f "$data.initdb.log"
    port=$FIRST_PORT
    for _ in $(seq 1 20); do
        if ! port_in_use "$port" &&
            as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 30 \
                -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
                start >/dev/null; then
            as_owner "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
                -c 'CREATE DATABASE idpool_test' >&2
            log "started PostgreSQL on 127.0.0.1:$port, data dir $data"
            echo "postgresql://postgres@127.0.0.1:$port/idpool_test"
            return 0
        fi
        port=$((port + 1))
    done
    log "could not start PostgreSQL on any port from $FIRST_PORT; see $data/server.log"
    exit 1
}

stop() {
    local data=${1:-}
    if [ -z "$data" ] && [ -s "$STATE" ]; then
        data=$(cat "$STATE")
    fi
    if [ -z "$data" ]; then
        log "nothing to stop (no data dir given and no $STATE)"
        return 0
    fi
    case "$data" in
    "${TMPDIR:-/tmp}"/idpool-pg.*) ;;
    *)
        log "refusing to stop $data: not a data dir this script created"
        exit 1
        ;;
    esac
    if [ -f "$data/postmaster.pid" ]; then
        as_owner "$(pg_bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null
        log "stopped PostgreSQL with data dir $data"
    fi
    rm -rf "$data"
    if [ -s "$STATE" ] && [ "$(cat "$STATE")" = "$data" ]; then
        rm -f "$STATE"
    fi
}

case "${1:-}" in
start) start ;;
stop) stop "${2:-}" ;;
*)
    echo "usage: $0 start | stop [DATA_DIR]" >&2
    exit 2
    ;;
esac

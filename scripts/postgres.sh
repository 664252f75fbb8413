#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the store tests: a temp directory, a loopback port, an
# unprivileged owner (`postgres` when run as root), a random password, and nothing left
# behind. Sourced: `postgres_start` exports HOOKSWITCH_TEST_POSTGRES; `postgres_stop` stops
# the cluster and removes its directory (call it from the caller's EXIT trap).
# Run directly (`scripts/postgres.sh -- CMD ARGS...`) it starts, runs CMD, and stops.

postgres_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    [ -x "$dir/initdb" ] || { echo "postgres: no /usr/lib/postgresql/*/bin/initdb (Debian package postgresql)" >&2; return 1; }
    echo "$dir"
}

# Run a command as the cluster's owner (PostgreSQL refuses to run as root).
postgres_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$POSTGRES_OWNER" -- "$@"
    else
        "$@"
    fi
}

postgres_start() {
    local bin port password
    bin=$(postgres_bin) || return 1
    POSTGRES_OWNER=$(id -un)
    if [ "$(id -u)" -eq 0 ]; then
        POSTGRES_OWNER=postgres
        id postgres >/dev/null 2>&1 || POSTGRES_OWNER=nobody
    fi
    POSTGRES_DIR=$(mktemp -d /tmp/hookswitch-pg.XXXXXX)
    chmod 700 "$POSTGRES_DIR"
    [ "$(id -u)" -ne 0 ] || chown "$POSTGRES_OWNER" "$POSTGRES_DIR"
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    postgres_as_owner sh -c "umask 077; printf '%s\n' '$password' > '$POSTGRES_DIR/pwfile'"
    postgres_as_owner "$bin/initdb" -D "$POSTGRES_DIR/data" -U hookswitch --auth=scram-sha-256 \
        --pwfile="$POSTGRES_DIR/pwfile" -E UTF8 --no-locale >"$POSTGRES_DIR/initdb.log" 2>&1 \
        || { cat "$POSTGRES_DIR/initdb.log" >&2; return 1; }
    rm -f "$POSTGRES_DIR/pwfile"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    postgres_as_owner "$bin/pg_ctl" -D "$POSTGRES_DIR/data" -l "$POSTGRES_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $POSTGRES_DIR -c max_connections=300 -c fsync=off" \
        start >/dev/null \
        || { cat "$POSTGRES_DIR/server.log" >&2; return 1; }
    export HOOKSWITCH_TEST_POSTGRES="postgres://hookswitch:$password@127.0.0.1:$port/postgres"
    echo "postgres: throwaway cluster on 127.0.0.1:$port (owner $POSTGRES_OWNER, dir $POSTGRES_DIR)"
}

postgres_stop() {
    [ -n "${POSTGRES_DIR:-}" ] && [ -d "$POSTGRES_DIR" ] || return 0
    postgres_as_owner "$(postgres_bin)/pg_ctl" -D "$POSTGRES_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$POSTGRES_DIR"
    unset HOOKSWITCH_TEST_POSTGRES POSTGRES_DIR
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    [ "${1:-}" = "--" ] && shift
    [ "$#" -gt 0 ] || { echo "usage: scripts/postgres.sh -- COMMAND [ARGS...]" >&2; exit 2; }
    trap postgres_stop EXIT
    postgres_start
    "$@"
fi

#!/bin/sh
# A private PostgreSQL cluster for development and tests.
#   pg.sh start DIR [PORT]   create (first time) and start a cluster in DIR;
#                            prints the DATABASE_URL to use
#   pg.sh stop DIR           stop it (fast shutdown)
#   pg.sh kill DIR           SIGKILL the postmaster (fault tests)
# PostgreSQL refuses to run as root, so as root the cluster belongs to the
# 'postgres' user (created by the Debian package). Without PORT the cluster
# listens only on a Unix socket inside DIR, so parallel test runs never fight
# over a TCP port.
set -eu
cmd=$1
dir=$2
port=${3:-}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "PostgreSQL server binaries not found" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        # From /: the caller's folder may be private to root.
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

case "$cmd" in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    if ! as_owner test -w "$dir"; then
        echo "the postgres user cannot write $dir (a parent folder is private?);" \
            "choose a folder it can reach (scripts/run.sh does)" >&2
        exit 1
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
            --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
        fresh=1
    fi
    if [ -n "$port" ]; then
        opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir"
        url="postgresql://postgres@127.0.0.1:$port/reflect"
    else
        opts="-c listen_addresses= -c unix_socket_directories=$dir"
        url="host=$dir dbname=reflect user=postgres"
    fi
    opts="$opts -c max_connections=200 -c fsync=${PG_FSYNC:-on}"
    # A postmaster killed with SIGKILL can linger as a zombie when nothing
    # reaps orphans (containers): its pid still "exists", so pg_ctl and
    # PostgreSQL itself would take the stale lock file for a live server.
    oldpid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
    if [ -n "$oldpid" ]; then
        state=$(awk '{print $3}' "/proc/$oldpid/stat" 2>/dev/null || echo gone)
        comm=$(cat "/proc/$oldpid/comm" 2>/dev/null || echo gone)
        if [ "$state" = Z ] || [ "$state" = gone ] || [ "$comm" != postgres ]; then
            rm -f "$dir/data/postmaster.pid"
        fi
    fi
    if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w -t 60 \
        status >/dev/null 2>&1; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w -t 60 \
            start >/dev/null || { tail -n 20 "$dir/server.log" >&2; exit 1; }
    fi
    sock_port=${port:-5432}
    # (PostgreSQL is started above only when pg_ctl saw no live postmaster.)
    if [ "${fresh:-0}" = 1 ] || ! as_owner "$bindir/psql" -h "$dir" -p "$sock_port" -U postgres \
        -Atqc "SELECT 1 FROM pg_database WHERE datname='reflect'" postgres | grep -q 1; then
        as_owner "$bindir/createdb" -h "$dir" -p "$sock_port" -U postgres reflect 2>/dev/null || true
    fi
    echo "$url"
    ;;
stop)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
kill)
    pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
    # Only a postmaster of ours: a stale pid file may name someone else.
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]; then
        # shellcheck disable=SC2046 # the children's pids, one word each
        kill -9 "$pid" $(pgrep -P "$pid") 2>/dev/null || true
    fi
    ;;
*)
    echo "usage: pg.sh start|stop|kill DIR [PORT]" >&2
    exit 2
    ;;
esac

#!/bin/sh
# `make run`: serve bin/reflectd. Without DATABASE_URL it starts (and on the
# first run creates and seeds) an embedded PostgreSQL, reused by the next
# `make run`; Ctrl-C stops both. The first lines printed say where the
# cluster lives and how to reach it.
#
# Where the cluster lives: PostgreSQL refuses to run as root, so as root it
# runs as the 'postgres' user, who must be able to reach its data folder.
# A clone in /root or in a `mktemp -d` folder (both 0700) is not reachable
# for postgres, so there the cluster goes to postgres's home instead
# (/var/lib/postgresql/reflectd/<clone>-<hash of the clone's path>, one per
# clone). Everywhere else, and always for an ordinary user (who owns both the
# clone and the cluster), it is .pgdata/ in the clone (git-ignored).
# PGDATA_DIR overrides the choice.
set -eu
cd "$(dirname "$0")/.."
repo=$(pwd)

# The folder for the embedded cluster, chosen as described above.
cluster_dir() {
    if [ -n "${PGDATA_DIR:-}" ]; then
        echo "$PGDATA_DIR"
    elif [ "$(id -u)" -ne 0 ] || [ -f .pgdata/data/PG_VERSION ] ||
        runuser -u postgres -- test -x "$repo" 2>/dev/null; then
        echo "$repo/.pgdata"
    else
        home=$(getent passwd postgres | cut -d: -f6)
        hash=$(printf '%s' "$repo" | sha256sum | cut -c1-8)
        echo "${home:-/var/lib/postgresql}/reflectd/$(basename "$repo")-$hash"
    fi
}

if [ -z "${DATABASE_URL:-}" ]; then
    PGPORT_EMBEDDED=${PGPORT_EMBEDDED:-54329}
    pgdir=$(cluster_dir)
    owner=$(id -un)
    [ "$(id -u)" -eq 0 ] && owner=postgres
    echo "embedded PostgreSQL cluster: $pgdir (runs as $owner; remove the folder to start afresh)"
    new=0
    [ -f "$pgdir/data/PG_VERSION" ] || new=1
    DATABASE_URL=$(scripts/pg.sh start "$pgdir" "$PGPORT_EMBEDDED")
    export DATABASE_URL
    echo "embedded PostgreSQL: $DATABASE_URL (psql \"$DATABASE_URL\")"
    trap 'scripts/pg.sh stop "$pgdir"' EXIT
    trap 'exit 130' INT TERM
    if [ "$new" = 1 ] && [ -z "${BOOTSTRAP_ADMIN_EMAIL:-}" ]; then
        bin/reflectd --migrate
        bin/reflectd --seed-demo
    fi
fi
echo "reflectd: http://${LISTEN_ADDR:-127.0.0.1:8080} (curl -s http://${LISTEN_ADDR:-127.0.0.1:8080}/readyz); Ctrl-C stops"
bin/reflectd &
pid=$!
# Forward Ctrl-C/TERM to the server so it drains, then stop the database.
trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 0' INT TERM
wait $pid

#!/bin/sh
# `make run`: serve bin/reflectd. Without DATABASE_URL it starts (and on the
# first run creates and seeds) an embedded PostgreSQL in .pgdata/, which is
# git-ignored and reused by the next `make run`. Ctrl-C stops both.
set -eu
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ]; then
    PGPORT_EMBEDDED=${PGPORT_EMBEDDED:-54329}
    new=0
    [ -f .pgdata/data/PG_VERSION ] || new=1
    DATABASE_URL=$(scripts/pg.sh start .pgdata "$PGPORT_EMBEDDED")
    export DATABASE_URL
    echo "embedded PostgreSQL: $DATABASE_URL (psql \"$DATABASE_URL\")"
    trap 'scripts/pg.sh stop .pgdata' EXIT
    trap 'exit 130' INT TERM
    if [ "$new" = 1 ] && [ -z "${BOOTSTRAP_ADMIN_EMAIL:-}" ]; then
        bin/reflectd --migrate
        bin/reflectd --seed-demo
    fi
fi
bin/reflectd &
pid=$!
# Forward Ctrl-C/TERM to the server so it drains, then stop the database.
trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 0' INT TERM
wait $pid

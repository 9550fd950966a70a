#!/bin/sh
# run-smoke.sh [USER] - proves that a newcomer's `make run` works from a
# private folder (issue #13): copies the repository's files into a fresh
# `mktemp -d` folder (mode 0700, like /root), runs `make run` there (as USER
# when given, through runuser), waits until /readyz answers 200, then sends
# Ctrl-C (SIGINT to the whole process group, as a terminal does) and checks
# that the server and the embedded PostgreSQL stopped. Part of .ci/run.
# Ports: SMOKE_HTTP_PORT (default 18093), SMOKE_PG_PORT (default 54393).
set -eu
cd "$(dirname "$0")/.."
user=${1:-}
http_port=${SMOKE_HTTP_PORT:-18093}
pg_port=${SMOKE_PG_PORT:-54393}

as_user() {
    if [ -n "$user" ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

parent=$(as_user mktemp -d)
clone="$parent/reflectd"
log="$parent.log"
pgdir=
cleanup() {
    [ -n "$pgdir" ] && scripts/pg.sh stop "$pgdir" 2>/dev/null || true
    case "$pgdir" in "$clone"/* | /var/lib/postgresql/reflectd/*) rm -rf "$pgdir" ;; esac
    rm -rf "$parent"
}
trap cleanup EXIT
echo "run-smoke: $parent is mode $(stat -c %a "$parent"), owner $(stat -c %U "$parent")"

# The files a clone has: tracked and not ignored (no build/, no .pgdata/).
as_user mkdir "$clone"
git ls-files --cached --others --exclude-standard | while IFS= read -r f; do
    [ -f "$f" ] && printf '%s\n' "$f"
done | tar -cf - -T - | as_user tar -xf - -C "$clone"

# setsid: its own process group, so the Ctrl-C below reaches exactly it.
# A shell starts background commands with SIGINT ignored, and an ignored
# signal stays ignored across exec (and cannot be trapped by sh): perl puts
# back the default disposition a terminal's foreground job would have.
(cd "$clone" && LISTEN_ADDR=127.0.0.1:$http_port PGPORT_EMBEDDED=$pg_port \
    exec setsid perl -e '$SIG{INT} = $SIG{QUIT} = "DEFAULT"; exec @ARGV or die "exec: $!"' \
    ${user:+runuser -u "$user" --} make run >"$log" 2>&1) &
shpid=$!
ready=0
i=0
while [ $i -lt 600 ]; do
    if curl -fsS -o /dev/null "http://127.0.0.1:$http_port/readyz" 2>/dev/null; then
        ready=1
        break
    fi
    kill -0 $shpid 2>/dev/null || break
    sleep 1
    i=$((i + 1))
done
pgid=$(ps -o pgid= -p $shpid 2>/dev/null | tr -d ' ' || true)
pgdir=$(sed -n 's/^embedded PostgreSQL cluster: \([^ ]*\) .*/\1/p' "$log" | head -n 1)
echo "run-smoke: the first lines \`make run\` printed:"
grep -v '^  CC\|embed-migrations' "$log" | head -n 3 | sed 's/^/    /'
[ -n "$pgid" ] && kill -INT "-$pgid" 2>/dev/null || true
i=0
while kill -0 $shpid 2>/dev/null && [ $i -lt 60 ]; do
    sleep 1
    i=$((i + 1))
done
ok=1
[ "$ready" = 1 ] || { echo "run-smoke: /readyz never answered 200" >&2; ok=0; }
kill -0 $shpid 2>/dev/null && { echo "run-smoke: make run still running after Ctrl-C" >&2; ok=0; }
[ -n "$pgdir" ] || { echo "run-smoke: make run did not say where the cluster is" >&2; ok=0; }
if [ -n "$pgdir" ] && [ -f "$pgdir/data/postmaster.pid" ]; then
    echo "run-smoke: PostgreSQL still running in $pgdir after Ctrl-C" >&2
    ok=0
fi
if [ "$ok" = 0 ]; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
echo "run-smoke: ok (${user:-$(id -un)}: /readyz answered, Ctrl-C stopped the server and PostgreSQL)"

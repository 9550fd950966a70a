#!/usr/bin/env bash
# valgrind.sh - `make check-valgrind` (after bin/reflectd and
# build/test/integration are built), from the repository root.
#
# Runs the whole integration suite against one shared bin/reflectd (the
# release build) running under valgrind memcheck, with a throwaway
# PostgreSQL. Servers the tests spawn themselves (REFLECTD_BIN, e.g.
# `reflectd bootstrap` in the fixtures) run natively. After the suite the
# server gets SIGTERM, shuts down gracefully and frees everything; the run
# fails on a failed test, on valgrind's error exit status (99: an invalid
# access, a use of uninitialised memory, or a definite or indirect leak,
# each of which valgrind also counts in its ERROR SUMMARY) or on a log that
# does not say "ERROR SUMMARY: 0 errors" and "definitely lost: 0" (or "no
# leaks are possible"). Under valgrind the server is slow to start, hence
# VALGRIND_START_S; once up it answers the suite's requests within the
# harness's 5 s (slowest seen: under 0.2 s on an idle 2-core machine).
# tests/valgrind.supp suppresses third-party false positives only.
# Arguments are passed to the criterion binary (e.g. --verbose).
# KEEP_TEST_TMP=1 keeps the temporary folder (valgrind log, test output).
# VALGRIND_START_S (default 120) bounds the server's start under valgrind.
# Ends with "valgrind: N integration tests passed, E errors, L bytes
# definitely lost"; exit status 0 only when all is clean.
set -u
cd "$(dirname "$0")/.." || exit 1

export JWT_KEY=reflectd-test-key-0123456789abcdefghijk # 40 characters, as in test.sh
export ARGON2_T_COST=1 ARGON2_M_COST_KIB=1024 LOGIN_MAX_FAILURES_ADDR=1000000
export FEEDBACK_FORM_MAX_ADDR=1000000 # as in test.sh
# No outbox sender on the shared server, as in test.sh: the import tests read
# the invitation links it would otherwise deliver (or, with no SMTP, give up on).
export OUTBOX_SENDER=0
export PG_FSYNC=off
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 # the test binary is sanitized
bin=bin/reflectd
start_s=${VALGRIND_START_S:-120}

server_pid=
server_rc=0
problems=()
tmp=$(mktemp -d /tmp/reflectd-valgrind.XXXXXX) || exit 1
chmod 755 "$tmp" # as root, the postgres user must reach $tmp/pg
vglog="$tmp/valgrind.log"
slog="$tmp/server.log"

# shellcheck source=scripts/servers.sh
. scripts/servers.sh

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

problem() {
    problems+=("$1")
    echo "FAILED: $1" >&2
}

# Ends the run with the summary line; $1..$3 are the figures.
finish() {
    echo
    local p
    for p in "${problems[@]}"; do
        echo "  - $p"
    done
    echo "valgrind: $1 integration tests passed, $2 errors, $3 bytes definitely lost"
    [ "${#problems[@]}" -eq 0 ] && exit 0
    exit 1
}

if [ ! -x "$bin" ] || [ ! -x build/test/integration ]; then
    echo "build first: make test-build" >&2
    exit 1
fi
if ! command -v valgrind >/dev/null; then
    echo "valgrind is not installed (scripts/deps.sh --with-tools)" >&2
    exit 1
fi

export PG_DIR="$tmp/pg"
if ! DATABASE_URL=$(scripts/pg.sh start "$PG_DIR"); then
    problem "cannot start PostgreSQL in $PG_DIR"
    finish 0 0 0
fi
export DATABASE_URL
export REFLECTD_LOG_DIR="$tmp" # logs of servers the tests spawn
oidc_pid=
if ! start_oidc_provider; then
    problem "the OpenID Connect test provider did not start"
    finish 0 0 0
fi

started=$(date +%s)
if ! start_server "$slog" "$start_s" valgrind --tool=memcheck --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
    --error-exitcode=99 --track-origins=no --num-callers=30 \
    --suppressions=tests/valgrind.supp --log-file="$vglog" "$bin"; then
    tail -n 50 "$slog" "$vglog" >&2
    problem "$bin under valgrind did not start within ${start_s} s"
    finish 0 0 0
fi
echo "== $bin under valgrind on $REFLECTD_ADDR (up after $(($(date +%s) - started)) s)"

out="$tmp/integration.out"
REFLECTD_BIN=$bin timeout 3600 build/test/integration --jobs 2 "$@" >"$out" 2>&1
suite_rc=$?
cat "$out"
read -r t passed _ _ <<<"$(synthesis "$out")"
if [ -z "${t:-}" ]; then
    t=0 passed=0
    problem "integration: no criterion synthesis (exit status $suite_rc)"
elif [ "$passed" -ne "$t" ] || [ "$suite_rc" -ne 0 ]; then
    problem "integration: $((t - passed)) of $t tests did not pass (exit status $suite_rc)"
elif [ "$t" -eq 0 ]; then
    problem "integration: no test ran"
fi

stop_server 120 # the leak check takes a while
echo "== server stopped after $(($(date +%s) - started)) s, exit status $server_rc"
# Valgrind's own figures, from the last summary in its log.
errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$vglog" | tail -n 1 | tr -d ,)
lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$vglog" | tail -n 1 | tr -d ,)
if [ -z "$lost" ] && grep -q 'All heap blocks were freed -- no leaks are possible' "$vglog"; then
    lost=0
fi
if [ "$server_rc" -ne 0 ]; then
    problem "$bin under valgrind: exit status $server_rc after SIGTERM (99: valgrind errors)"
fi
if [ -z "$errors" ] || [ -z "$lost" ]; then
    problem "$bin under valgrind: no complete summary in the valgrind log"
fi
if [ "${errors:-0}" -ne 0 ] || [ "${lost:-0}" -ne 0 ] || [ "$server_rc" -ne 0 ]; then
    # The reports with their stacks and the summaries (past the banner).
    sed '1,/Parent PID/d' "$vglog" | head -n 500 >&2
    tail -n 20 "$slog" >&2
fi
[ "${errors:-0}" -ne 0 ] && problem "$bin under valgrind: $errors errors (see above)"
[ "${lost:-0}" -ne 0 ] && problem "$bin under valgrind: $lost bytes definitely lost (see above)"
finish "$passed" "${errors:-?}" "${lost:-?}"

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

# Is $1 still a running background job of this shell? Only then may it be
# signalled: an exited job's pid may belong to anyone by now.
our_job() {
    local p
    for p in $(jobs -pr); do
        [ "$p" = "$1" ] && return 0
    done
    return 1
}

# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ -n "$server_pid" ] && our_job "$server_pid"; then
        kill -KILL "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    scripts/pg.sh stop "$tmp/pg" >/dev/null 2>&1
    if [ -n "${KEEP_TEST_TMP:-}" ]; then
        echo "kept $tmp (logs of the run)" >&2
    else
        rm -rf "$tmp"
    fi
}
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

# Does a server answer GET /healthz with 200 on 127.0.0.1:$1?
healthz_ok() {
    # shellcheck disable=SC2016 # $1 is the inner shell's
    timeout 5 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n" >&3
        head -n 1 <&3' _ "$1" 2>/dev/null | grep -q '^HTTP/1\.[01] 200 '
}

port_in_use() {
    # shellcheck disable=SC2016
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# Is process $1 (valgrind runs the server in its own process) the one
# listening on 127.0.0.1:$2?
listens_on() {
    local inode fd
    inode=$(awk -v a="$(printf '0100007F:%04X' "$2")" '$2 == a && $4 == "0A" { print $10; exit }' \
        /proc/net/tcp)
    [ -n "$inode" ] || return 1
    for fd in "/proc/$1/fd"/*; do
        [ "$(readlink "$fd" 2>/dev/null)" = "socket:[$inode]" ] && return 0
    done
    return 1
}

# A random port below the ephemeral range (the tests' own servers bind 0).
random_port() {
    local low
    low=$(cut -f 1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
    [ "${low:-0}" -gt 12000 ] || low=32768
    echo $((10000 + RANDOM % (low - 10000)))
}

# start_server: the server under valgrind on a free port; sets server_pid
# and exports REFLECTD_ADDR. Retries when another process takes the port.
start_server() {
    local port _ i
    for _ in 1 2 3 4 5; do
        port=$(random_port)
        port_in_use "$port" && continue
        : >"$vglog"
        WORKERS=2 ACCESS_LOG=off LISTEN_ADDR="127.0.0.1:$port" \
            valgrind --tool=memcheck --leak-check=full \
            --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
            --error-exitcode=99 --track-origins=no --num-callers=30 \
            --suppressions=tests/valgrind.supp --log-file="$vglog" \
            "$bin" >>"$slog" 2>&1 &
        server_pid=$!
        for ((i = 0; i < start_s * 5; i++)); do
            if healthz_ok "$port" && listens_on "$server_pid" "$port"; then
                export REFLECTD_ADDR="127.0.0.1:$port"
                return 0
            fi
            our_job "$server_pid" || break
            sleep 0.2
        done
        if our_job "$server_pid"; then
            kill -KILL "$server_pid"
            wait "$server_pid" 2>/dev/null
            server_pid=
            return 1 # up but never healthy
        fi
        wait "$server_pid" 2>/dev/null
        server_pid=
        grep -q 'cannot listen' "$slog" || return 1
    done
    return 1
}

# stop_server: SIGTERM, then up to 120 s (the leak check included) before
# SIGKILL; sets server_rc (not in a subshell: only this shell can wait).
stop_server() {
    local i
    our_job "$server_pid" && kill -TERM "$server_pid" 2>/dev/null
    for ((i = 0; i < 600; i++)); do
        our_job "$server_pid" || break
        sleep 0.2
    done
    our_job "$server_pid" && kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_rc=$?
    server_pid=
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

started=$(date +%s)
if ! start_server; then
    tail -n 50 "$slog" "$vglog" >&2
    problem "$bin under valgrind did not start within ${start_s} s"
    finish 0 0 0
fi
echo "== $bin under valgrind on $REFLECTD_ADDR (up after $(($(date +%s) - started)) s)"

out="$tmp/integration.out"
REFLECTD_BIN=$bin timeout 3600 build/test/integration --jobs 2 "$@" >"$out" 2>&1
suite_rc=$?
cat "$out"
line=$(sed 's/\x1b\[[0-9;]*m//g' "$out" | grep 'Synthesis: Tested:' | tail -n 1)
t=$(echo "$line" | sed -n 's/.*Tested: \([0-9]*\).*/\1/p')
passed=$(echo "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
t=${t:-0} passed=${passed:-0}
if [ -z "$line" ]; then
    problem "integration: no criterion synthesis (exit status $suite_rc)"
elif [ "$passed" -ne "$t" ] || [ "$suite_rc" -ne 0 ]; then
    problem "integration: $((t - passed)) of $t tests did not pass (exit status $suite_rc)"
elif [ "$t" -eq 0 ]; then
    problem "integration: no test ran"
fi

stop_server
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

#!/usr/bin/env bash
# test.sh - `make test` (after `make test-build`), from the repository root.
#
# Starts a throwaway PostgreSQL in a temporary folder, then runs
#   1. the unit tests, plain and under ASan/UBSan;
#   2. the integration tests against a shared server, once for bin/reflectd
#      and once for the sanitized build/asan/reflectd (which must exit 0 on
#      SIGTERM and log no sanitizer report);
#   3. the fault tests (they stop and restart the database), one at a time.
# Arguments are passed to every criterion binary (e.g. --verbose).
# KEEP_TEST_TMP=1 keeps the temporary folder (server logs, test output).
# Ends with one line "N passed, M failed": the sum over all criterion runs,
# plus one failure for each run or server that ended badly on its own (no
# synthesis, bad exit status, a sanitizer report where no test failed).
# Exit status 0 only when M is 0. Works as root (PostgreSQL then runs as
# 'postgres') and as non-root.
set -u
cd "$(dirname "$0")/.." || exit 1

# The signing key of every server in the run; tests forge tokens with it.
export JWT_KEY=reflectd-test-key-0123456789abcdefghijk # 40 characters
# Every server of the run: cheap argon2id (the cost is a setting, the code
# path is the same), and no per-address login limit, since every test comes
# from 127.0.0.1 (the per-account limit stays, and its own test checks it).
export ARGON2_T_COST=1 ARGON2_M_COST_KIB=1024 LOGIN_MAX_FAILURES_ADDR=1000000
# A throwaway cluster needs no durability.
export PG_FSYNC=off
SANITIZER_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:'
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

passed=0
failed=0
notes=()
server_pid=
server_rc=0

tmp=$(mktemp -d /tmp/reflectd-test.XXXXXX) || exit 1
chmod 755 "$tmp" # as root, the postgres user must reach $tmp/pg

# Is $1 still a running background job of this shell? Once a job has
# exited its pid may belong to anyone (pids wrap quickly on a busy machine),
# so no pid is signalled without asking this first.
our_job() {
    local p
    for p in $(jobs -pr); do
        [ "$p" = "$1" ] && return 0
    done
    return 1
}

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

fail() {
    failed=$((failed + 1))
    notes+=("$1")
    echo "FAILED: $1" >&2
}

# run_suite NAME BINARY [ARGS...]: runs one criterion binary and adds its
# synthesis to the totals.
run_suite() {
    local name=$1 out="$tmp/$1.out" rc line t p f c bad
    shift
    echo "== $name: $*"
    timeout 1200 "$@" >"$out" 2>&1
    rc=$?
    cat "$out"
    line=$(sed 's/\x1b\[[0-9;]*m//g' "$out" | grep 'Synthesis: Tested:' | tail -n 1)
    if [ -z "$line" ]; then
        fail "$name: no criterion synthesis (exit status $rc)"
        return
    fi
    t=$(echo "$line" | sed -n 's/.*Tested: \([0-9]*\).*/\1/p')
    p=$(echo "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
    f=$(echo "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
    c=$(echo "$line" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
    # Criterion counts a crash under Failing too; whatever did not pass
    # failed (skipped tests are not in Tested).
    t=${t:-0} p=${p:-0} f=${f:-0} c=${c:-0}
    bad=$((t - p))
    [ "$bad" -lt "$f" ] && bad=$f
    [ "$bad" -lt "$c" ] && bad=$c
    passed=$((passed + p))
    failed=$((failed + bad))
    [ "$bad" -gt 0 ] && notes+=("$name: $bad failed ($c of them crashed)")
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        fail "$name: exit status $rc"
    fi
    # A failed assertion skips the test's frees, so leaks then are expected;
    # in an otherwise passing run any sanitizer report is a failure.
    if grep -Eq "$SANITIZER_RE" "$out"; then
        if [ "$bad" -eq 0 ]; then
            fail "$name: sanitizer report in the output"
        else
            notes+=("$name: sanitizer report in the output (see the failed tests)")
        fi
    fi
}

# Does a server answer GET /healthz with 200 on 127.0.0.1:$1?
healthz_ok() {
    # shellcheck disable=SC2016 # $1 is the inner shell's
    timeout 2 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n" >&3
        head -n 1 <&3' _ "$1" 2>/dev/null | grep -q '^HTTP/1\.[01] 200 '
}

port_in_use() {
    # shellcheck disable=SC2016
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# Is process $1 the one listening on 127.0.0.1:$2? (Another run's server may
# answer /healthz on a port ours failed to bind.)
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

# A random port below the kernel's ephemeral range, so that it does not
# collide with the ports the tests' own servers get from bind(0).
random_port() {
    local low
    low=$(cut -f 1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
    [ "${low:-0}" -gt 12000 ] || low=32768
    echo $((10000 + RANDOM % (low - 10000)))
}

# start_server BIN LOG: the shared server on a free port; sets server_pid
# and exports REFLECTD_ADDR. Retries when another process takes the port.
start_server() {
    local bin=$1 log=$2 port _
    for _ in 1 2 3 4 5; do
        port=$(random_port)
        port_in_use "$port" && continue
        WORKERS=2 ACCESS_LOG=off LISTEN_ADDR="127.0.0.1:$port" \
            "$bin" >>"$log" 2>&1 &
        server_pid=$!
        for _ in $(seq 1 300); do
            if healthz_ok "$port" && listens_on "$server_pid" "$port"; then
                export REFLECTD_ADDR="127.0.0.1:$port"
                return 0
            fi
            our_job "$server_pid" || break
            sleep 0.1
        done
        if our_job "$server_pid"; then
            kill -KILL "$server_pid"
            wait "$server_pid" 2>/dev/null
            server_pid=
            return 1 # up but never healthy
        fi
        wait "$server_pid" 2>/dev/null
        server_pid=
        grep -q 'cannot listen' "$log" || return 1
    done
    return 1
}

# stop_server: SIGTERM, then up to 30 s before SIGKILL; sets server_rc to
# the exit status (not in a subshell: only this shell can wait for it).
stop_server() {
    local _
    our_job "$server_pid" && kill -TERM "$server_pid" 2>/dev/null
    for _ in $(seq 1 300); do
        our_job "$server_pid" || break
        sleep 0.1
    done
    our_job "$server_pid" && kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_rc=$?
    server_pid=
}

# integration BIN: the integration suite against a shared BIN server.
integration() {
    local bin=$1 flavour log
    flavour=$(basename "$(dirname "$bin")") # bin or asan
    log="$tmp/server-$flavour.log"
    if ! start_server "$bin" "$log"; then
        tail -n 50 "$log" >&2
        fail "$bin: the shared server did not start"
        return
    fi
    echo "== shared server $bin on $REFLECTD_ADDR"
    REFLECTD_BIN=$bin run_suite "integration-$flavour" build/test/integration --jobs 2 "${args[@]}"
    stop_server
    if [ "$server_rc" -ne 0 ]; then
        tail -n 50 "$log" >&2
        fail "$bin: exit status $server_rc after SIGTERM"
    fi
    if grep -Eq "$SANITIZER_RE" "$log"; then
        grep -E -A 30 "$SANITIZER_RE" "$log" | head -n 100 >&2
        fail "$bin: sanitizer report in the server log"
    fi
}

args=("$@")
export PG_DIR="$tmp/pg"
if ! DATABASE_URL=$(scripts/pg.sh start "$PG_DIR"); then
    echo "cannot start PostgreSQL in $PG_DIR" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
export DATABASE_URL
export REFLECTD_LOG_DIR="$tmp" # logs of servers the tests spawn

run_suite unit build/test/unit "${args[@]}"
run_suite unit-asan build/test/unit-asan "${args[@]}"
for bin in bin/reflectd build/asan/reflectd; do
    integration "$bin"
done
# The fault tests spawn their own servers; those that set up data through
# the fixtures talk to a shared one, started here for them.
if start_server bin/reflectd "$tmp/server-faults.log"; then
    REFLECTD_BIN=build/asan/reflectd run_suite faults build/test/faults --jobs 1 "${args[@]}"
    stop_server
    [ "$server_rc" -eq 0 ] || fail "bin/reflectd (fault run): exit status $server_rc after SIGTERM"
else
    fail "bin/reflectd: the shared server for the fault tests did not start"
fi

echo
for n in "${notes[@]}"; do
    echo "  - $n"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

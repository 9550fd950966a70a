# servers.sh - sourced by test.sh and valgrind.sh: a shared reflectd for a
# test run, and reading a criterion run's synthesis. Not run on its own.
#
# The caller sets server_pid= and server_rc=0 and its temporary folder
# $tmp (PostgreSQL in $tmp/pg), and traps EXIT with cleanup.

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

# The EXIT trap: the server if still ours, PostgreSQL, and $tmp unless
# KEEP_TEST_TMP is set.
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ -n "$server_pid" ] && our_job "$server_pid"; then
        kill -KILL "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    if [ -n "${oidc_pid:-}" ] && our_job "$oidc_pid"; then
        kill -TERM "$oidc_pid" 2>/dev/null
        wait "$oidc_pid" 2>/dev/null
    fi
    scripts/pg.sh stop "$tmp/pg" >/dev/null 2>&1
    if [ -n "${KEEP_TEST_TMP:-}" ]; then
        echo "kept $tmp (logs of the run)" >&2
    else
        rm -rf "$tmp"
    fi
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

# start_server LOG START_S COMMAND...: COMMAND (the server, or a wrapper
# that runs it) on a free port with WORKERS=2 ACCESS_LOG=off, output to
# LOG, its metrics listener on another free port; waits up to START_S
# seconds for it to answer. Sets server_pid and exports REFLECTD_ADDR and
# REFLECTD_METRICS_ADDR. Retries when another process takes a port.
start_server() {
    local log=$1 start_s=$2 port mport _ i
    shift 2
    for _ in 1 2 3 4 5; do
        port=$(random_port)
        mport=$(random_port)
        [ "$port" = "$mport" ] && continue
        port_in_use "$port" && continue
        port_in_use "$mport" && continue
        WORKERS=2 ACCESS_LOG=off LISTEN_ADDR="127.0.0.1:$port" METRICS_ADDR="127.0.0.1:$mport" \
            "$@" >>"$log" 2>&1 &
        server_pid=$!
        for ((i = 0; i < start_s * 10; i++)); do
            if healthz_ok "$port" && listens_on "$server_pid" "$port"; then
                export REFLECTD_ADDR="127.0.0.1:$port"
                export REFLECTD_METRICS_ADDR="127.0.0.1:$mport"
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

# stop_server WAIT_S: SIGTERM, then up to WAIT_S seconds before SIGKILL;
# sets server_rc to the exit status (not in a subshell: only this shell
# can wait for it).
stop_server() {
    local i
    our_job "$server_pid" && kill -TERM "$server_pid" 2>/dev/null
    for ((i = 0; i < $1 * 10; i++)); do
        our_job "$server_pid" || break
        sleep 0.1
    done
    our_job "$server_pid" && kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_rc=$?
    server_pid=
}

# synthesis FILE: criterion's last "Synthesis" line in FILE as
# "tested passing failing crashing" (nothing when there is none).
synthesis() {
    local line t p f c
    line=$(sed 's/\x1b\[[0-9;]*m//g' "$1" | grep 'Synthesis: Tested:' | tail -n 1)
    [ -n "$line" ] || return 0
    t=$(echo "$line" | sed -n 's/.*Tested: \([0-9]*\).*/\1/p')
    p=$(echo "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
    f=$(echo "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
    c=$(echo "$line" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
    echo "${t:-0} ${p:-0} ${f:-0} ${c:-0}"
}

# failures FILE: criterion's report of FILE cut to each failed or crashed
# test, with the first failed assertion it reported (the file:line and the
# message's first line; criterion prints them before the test's [FAIL]
# line); at most 40 lines, colours removed.
failures() {
    sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '
        /^\[----\] [^ ]+:[0-9]+: / { if (where == "") { where = $2 " " $3 " " $4; want = 1 }; next }
        want && /^\[----\]   [^ ]/ { sub(/^\[----\]   /, ""); what = $0; want = 0; next }
        /^\[FAIL\]/ { print $0 "  " where " " what; where = ""; what = ""; want = 0 }' |
        head -n 40
}

# start_oidc_provider: the OpenID Connect provider the sign-in tests use
# (tests/oidc/provider.mjs, oidc-provider as pinned in its package-lock.json,
# installed by npm ci when missing) on a free loopback port. Sets oidc_pid
# and exports OIDC_TEST_ISSUER and OIDC_TEST_KEYS; every server of the run
# may refetch keys at once on an unknown kid (OIDC_KEYS_MIN_REFRESH_S=0),
# since the tests rotate the provider's key (a test checks the limit on a
# server of its own).
start_oidc_provider() {
    local installed=tests/oidc/node_modules/.package-lock.json port _ i
    if [ ! -f "$installed" ] || [ -n "$(find tests/oidc/package-lock.json -newer "$installed")" ]; then
        npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error >&2 || return 1
    fi
    for _ in 1 2 3 4 5; do
        port=$(random_port)
        port_in_use "$port" && continue
        node tests/oidc/provider.mjs "$port" "$tmp/oidc-keys.json" >"$tmp/oidc-provider.log" 2>&1 &
        oidc_pid=$!
        for ((i = 0; i < 100; i++)); do
            if grep -q '^ready' "$tmp/oidc-provider.log" 2>/dev/null; then
                export OIDC_TEST_ISSUER="http://127.0.0.1:$port" OIDC_TEST_KEYS="$tmp/oidc-keys.json"
                export OIDC_KEYS_MIN_REFRESH_S=0
                return 0
            fi
            our_job "$oidc_pid" || break
            sleep 0.1
        done
        our_job "$oidc_pid" && kill -TERM "$oidc_pid"
        wait "$oidc_pid" 2>/dev/null
        oidc_pid=
    done
    return 1
}

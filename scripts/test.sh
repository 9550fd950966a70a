#!/usr/bin/env bash
# test.sh - `make test` (after `make test-build`), from the repository root.
#
# Starts a throwaway PostgreSQL in a temporary folder, then runs
#   1. the unit tests, plain and under ASan/UBSan;
#   2. the integration tests against a shared server, once for bin/reflectd
#      and once for the sanitized build/asan/reflectd (which must exit 0 on
#      SIGTERM and log no sanitizer report);
#   3. the fault tests (they stop and restart the database), one at a time;
#   4. the contract: every response of the integration run against
#      bin/reflectd and of the fault run (recorded by the harness,
#      REFLECTD_RECORD) checked against api-spec/openapi.yaml by
#      tests/spec/responses.mjs (Ajv, JSON Schema 2020-12); any violation is
#      a failure.
#   5. the browser test (scripts/browser-test.sh): the feedback form in
#      headless Chromium, screenshots in build/artifacts/.
# Arguments are passed to every criterion binary (e.g. --verbose).
# KEEP_TEST_TMP=1 keeps the temporary folder (server logs, test output).
# An OpenID Connect provider (tests/oidc) runs for the whole run.
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
# The same for answers through the feedback form (its own test spawns a
# server with a low limit).
export FEEDBACK_FORM_MAX_ADDR=1000000
# No outbox sender on the run's servers: only the notification tests'
# own servers (tests/faults/test_notify.c) deliver, to their own doubles.
export OUTBOX_SENDER=0
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

# shellcheck source=scripts/servers.sh
. scripts/servers.sh

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
    local name=$1 out="$tmp/$1.out" rc t p f c bad
    shift
    echo "== $name: $*"
    timeout 1200 "$@" >"$out" 2>&1
    rc=$?
    cat "$out"
    read -r t p f c <<<"$(synthesis "$out")"
    if [ -z "${t:-}" ]; then
        fail "$name: no criterion synthesis (exit status $rc)"
        return
    fi
    # Criterion counts a crash under Failing too; whatever did not pass
    # failed (skipped tests are not in Tested).
    bad=$((t - p))
    [ "$bad" -lt "$f" ] && bad=$f
    [ "$bad" -lt "$c" ] && bad=$c
    passed=$((passed + p))
    failed=$((failed + bad))
    [ "$bad" -gt 0 ] && notes+=("$name: $bad failed ($c of them crashed)")
    # Each failed test and its first failed assertion, repeated in the
    # closing notes: a CI log is often read from its tail only.
    [ "$bad" -gt 0 ] && while IFS= read -r line; do
        notes+=("  $line")
    done < <(failures "$out")
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

# integration BIN: the integration suite against a shared BIN server.
integration() {
    local bin=$1 flavour log
    flavour=$(basename "$(dirname "$bin")") # bin or asan
    log="$tmp/server-$flavour.log"
    # The release server runs the default (DB_PIPELINE_DEPTH=1); the
    # sanitized one pipelines, so the whole suite also runs through libpq's
    # pipeline mode (tests/unit/test_db_pool.c tests it on its own).
    local depth=1
    [ "$flavour" = asan ] && depth=4
    if ! start_server "$log" 30 env DB_PIPELINE_DEPTH=$depth "$bin"; then
        tail -n 50 "$log" >&2
        fail "$bin: the shared server did not start"
        return
    fi
    echo "== shared server $bin on $REFLECTD_ADDR"
    # The contract check needs one recording: the release server's run.
    local record=
    [ "$flavour" = bin ] && record="$tmp/responses.jsonl"
    REFLECTD_RECORD=$record REFLECTD_BIN=$bin run_suite "integration-$flavour" \
        build/test/integration --jobs 2 "${args[@]}"
    stop_server 30
    if [ "$server_rc" -ne 0 ]; then
        tail -n 50 "$log" >&2
        fail "$bin: exit status $server_rc after SIGTERM"
    fi
    if grep -Eq "$SANITIZER_RE" "$log"; then
        grep -E -A 30 "$SANITIZER_RE" "$log" | head -n 100 >&2
        fail "$bin: sanitizer report in the server log"
    fi
}

# browser: the feedback form in Chromium against a server of its own; adds
# its "browser: N passed, M failed" to the totals.
browser() {
    local out="$tmp/browser.out" p f
    if ! start_server "$tmp/server-browser.log" 30 bin/reflectd; then
        fail "bin/reflectd: the server for the browser test did not start"
        return
    fi
    echo "== browser: scripts/browser-test.sh on $REFLECTD_ADDR"
    scripts/browser-test.sh >"$out" 2>&1
    cat "$out"
    stop_server 30
    read -r p f <<<"$(sed -n 's/^browser: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$out" | tail -n 1)"
    if [ -z "${p:-}" ]; then
        fail "browser: no summary line"
        return
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    [ "$f" -gt 0 ] && notes+=("browser: $f failed")
    [ "$server_rc" -eq 0 ] || fail "bin/reflectd (browser run): exit status $server_rc after SIGTERM"
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
oidc_pid=
start_oidc_provider || fail "the OpenID Connect test provider did not start"

# Every SQL statement the service runs, PREPAREd against the migrated
# schema: a statement that drifted from the schema fails here.
echo "== statements: bin/reflectd --check-statements"
if bin/reflectd --check-statements 2>"$tmp/statements.err"; then
    :
else
    cat "$tmp/statements.err" >&2
    fail "bin/reflectd --check-statements: a statement does not prepare"
fi
run_suite unit build/test/unit "${args[@]}"
run_suite unit-asan build/test/unit-asan "${args[@]}"
for bin in bin/reflectd build/asan/reflectd; do
    integration "$bin"
done
# The fault tests spawn their own servers; those that set up data through
# the fixtures talk to a shared one, started here for them.
if start_server "$tmp/server-faults.log" 30 bin/reflectd; then
    REFLECTD_RECORD="$tmp/responses.jsonl" REFLECTD_BIN=build/asan/reflectd \
        run_suite faults build/test/faults --jobs 1 "${args[@]}"
    stop_server 30
    [ "$server_rc" -eq 0 ] || fail "bin/reflectd (fault run): exit status $server_rc after SIGTERM"
else
    fail "bin/reflectd: the shared server for the fault tests did not start"
fi
browser

echo "== contract: recorded responses against api-spec/openapi.yaml"
if ! scripts/npm-deps.sh; then
    fail "contract: cannot install tests/spec's npm packages"
elif [ ! -s "$tmp/responses.jsonl" ]; then
    fail "contract: no responses were recorded"
elif node tests/spec/responses.mjs "$tmp/responses.jsonl"; then
    passed=$((passed + 1))
else
    fail "contract: responses that api-spec/openapi.yaml does not describe (see above)"
fi

echo
for n in "${notes[@]}"; do
    echo "  - $n"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

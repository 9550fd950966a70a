#!/bin/sh
# `make lint`: every static check, each run even when an earlier one failed;
# exits 1 when any failed.
#   1. clang-format --dry-run --Werror (house style in .clang-format) over
#      service/ and tests/; `clang-format -i FILE` fixes what it reports.
#   2. cppcheck over service/.
#   3. scripts/spec-check.sh: api-spec/openapi.yaml is valid OpenAPI 3.1 and
#      documents exactly the routes bin/reflectd serves.
#   4. scripts/layers.sh: service/'s includes run one way (no module pair
#      includes each other, no cycle, folders only depend downwards).
# Tools: scripts/deps.sh --with-tools (clang-format 14, cppcheck 2.10, node).
set -u
cd "$(dirname "$0")/.." || exit 1

failed=""
step() {
    echo "== $1"
}
fail() {
    failed="$failed $1"
    echo "-- $1: FAILED"
}

# 1. clang-format. Its output differs between major versions; the house
# style is checked with 14 (Debian bookworm's), so prefer that binary.
step clang-format
CLANG_FORMAT=${CLANG_FORMAT:-$(command -v clang-format-14 || command -v clang-format || true)}
if [ -z "$CLANG_FORMAT" ]; then
    echo "clang-format is missing; run scripts/deps.sh --with-tools" >&2
    fail clang-format
else
    "$CLANG_FORMAT" --version | grep -q 'version 14\.' ||
        echo "warning: $("$CLANG_FORMAT" --version) is not clang-format 14; results may differ" >&2
    set -- service/*.[ch] service/*/*.[ch]
    for f in $(find tests -name node_modules -prune -o -type f -name '*.[ch]' -print | sort); do
        set -- "$@" "$f"
    done
    if "$CLANG_FORMAT" --dry-run --Werror "$@"; then
        echo "-- clang-format: ok ($# files)"
    else
        fail clang-format
    fi
fi

# 2. cppcheck. System headers are not analysed (missingIncludeSystem), so
# the BSD <sys/queue.h> list macros are force-included to let it parse the
# structs that use them (TAILQ_HEAD(, x) is a syntax error to it otherwise).
step cppcheck
if ! command -v cppcheck >/dev/null 2>&1; then
    echo "cppcheck is missing; run scripts/deps.sh --with-tools" >&2
    fail cppcheck
else
    queue_h=""
    multiarch=$(${CC:-cc} -print-multiarch 2>/dev/null || true)
    for h in "/usr/include/$multiarch/sys/queue.h" /usr/include/sys/queue.h; do
        if [ -f "$h" ]; then
            queue_h=$h
            break
        fi
    done
    [ -n "$queue_h" ] || echo "warning: sys/queue.h not found; cppcheck may not parse TAILQ" >&2
    if cppcheck --enable=warning,style,performance,portability --error-exitcode=1 \
        --inline-suppr --quiet --std=c11 -D_GNU_SOURCE -Iservice \
        --suppress=missingIncludeSystem ${queue_h:+"--include=$queue_h"} service/; then
        echo "-- cppcheck: ok"
    else
        fail cppcheck
    fi
fi

# 3. The OpenAPI document against the schema and the server's routes.
step spec-check
if scripts/spec-check.sh; then
    echo "-- spec-check: ok"
else
    fail spec-check
fi

# 4. One-way dependencies between modules and folders.
step layers
if scripts/layers.sh; then
    echo "-- layers: ok"
else
    fail layers
fi

if [ -n "$failed" ]; then
    echo "lint: FAILED:$failed"
    exit 1
fi
echo "lint: all checks passed"

#!/usr/bin/env bash
# where.sh - where a route lives: its handler, its SQL, its validation, its tests.
#
#   scripts/where.sh 'POST /v1/goals'         one route
#   scripts/where.sh /v1/goals                every method on paths containing it
#   scripts/where.sh                          the whole table (as `reflectd --routes`, plus handlers)
#
# It reads the sources, not the binary: the routing table
# (service/handlers/routes.c), the handler's definition in service/handlers/,
# the SQL_* statements named in the handler and in the static functions of its
# file that it calls (one level: the continuations), the validators it calls
# (v_*, api_body*, api_*_param from service/http/), and the test lines that
# build the path (tests/integration, tests/faults). Paths with {params} match
# tests that format them (%s) or spell an id.
set -euo pipefail
cd "$(dirname "$0")/.."

routes=service/handlers/routes.c
want_method="" want_path=""
case "${1:-}" in
"") ;;
*" "*) want_method=${1%% *} want_path=${1#* } ;;
*) want_path=$1 ;;
esac

# "METHOD PATH HANDLER LINE" for every table entry.
table() {
    awk '/^ *\{M_[A-Z]+, "/ {
        m = $0; sub(/^ *\{M_/, "", m); sub(/,.*/, "", m)
        p = $0; sub(/^[^"]*"/, "", p); sub(/".*/, "", p)
        h = $0; sub(/^[^"]*"[^"]*", */, "", h); sub(/,.*/, "", h)
        print m, p, h, NR
    }' "$routes"
}

# The body of function fn in file f, from its definition to the closing brace.
body() {
    awk -v fn="$2" '
        $0 ~ "^[a-z].*[ *]" fn "\\(" && $0 !~ /;$/ { on = 1 }
        on { print }
        on && /^}/ { exit }' "$1"
}

show() {
    local method=$1 path=$2 fn=$3 line=$4 file def
    def=$(grep -n -E "^void $fn\(struct req \*r\)$" service/handlers/*.c | head -1 || true)
    file=${def%%:*}
    echo "$method $path"
    echo "  route     $routes:$line"
    if [ -z "$def" ]; then
        echo "  handler   $fn (definition not found)"
        return
    fi
    echo "  handler   $file:$(echo "$def" | cut -d: -f2) $fn"
    # The handler and the static functions of its file it names (its
    # continuations and parsers): their statements and their validators.
    local src callees
    src=$(body "$file" "$fn")
    callees=$(grep -o -E '\b[a-z_][a-z0-9_]*\b' <<<"$src" | sort -u |
        while read -r c; do
            [ "$c" = "$fn" ] && continue
            grep -q -E "^static [a-z].*[ *]$c\(" "$file" && echo "$c"
        done || true)
    for c in $callees; do src+=$'\n'$(body "$file" "$c"); done
    local sql
    for sql in $(grep -o -E '\bSQL_[A-Z0-9_]+\b' <<<"$src" | sort -u); do
        local at
        at=$(grep -n -E "^#define $sql\b|^static const char $sql\[\]" "$file" service/handlers/*.h \
            service/http/api.h 2>/dev/null | head -1 | cut -d: -f1,2 || true)
        echo "  SQL       $sql ${at:-}"
    done
    local checks
    checks=$(grep -o -E '\b(v_[a-z_]+|api_body[a-z_]*|api_[a-z_]*param|api_enum_query|api_if_match|api_params_page)\(' \
        <<<"$src" | tr -d '(' | sort -u | tr '\n' ' ' || true)
    [ -n "$checks" ] && echo "  checks    $checks(service/http/validate.h, api.h)"
    [ -n "$callees" ] && echo "  helpers   $(echo $callees) (static, in $file)"
    # Tests: the path with each {param} as %s or an id-like token.
    local re hits
    re=$(sed -E 's/\{[a-z_]+\}/(%s|[^\/"]+)/g; s/\./\\./g' <<<"$path")
    hits=$(grep -n -E "\"([^\"]*%s)?$re(\?[^\"]*)?\"" tests/integration/*.c tests/faults/*.c 2>/dev/null |
        awk -F: '{ n[$1]++; if (!($1 in first)) first[$1] = $2 }
                 END { for (f in n) printf "%s:%s (%d)\n", f, first[f], n[f] }' | sort || true)
    if [ -n "$hits" ]; then
        echo "  tests     $(echo "$hits" | head -1)"
        echo "$hits" | tail -n +2 | sed 's/^/            /'
    else
        echo "  tests     (no test spells this path)"
    fi
}

found=0
while read -r method path fn line; do
    [ -n "$want_method" ] && [ "$method" != "$want_method" ] && continue
    [ -n "$want_path" ] && [[ "$path" != *"$want_path"* ]] && continue
    if [ -z "$want_path" ]; then
        printf '%-7s %-52s %s\n' "$method" "$path" "$fn"
    else
        show "$method" "$path" "$fn" "$line"
    fi
    found=1
done < <(table)
[ $found = 1 ] || { echo "where.sh: no route matches '${1:-}'" >&2; exit 1; }

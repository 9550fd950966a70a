#!/bin/sh
# layers.sh - proves that service/'s include dependencies run one way
# (`make lint` runs it; it needs only awk and tsort).
#
# A module is a file name without its extension (http/request = request.c +
# request.h); an edge is an #include "..." of another module's header, from
# the .c or the .h. Three checks, each violation printed:
#   1. no two modules include each other;
#   2. no longer cycle (tsort of the module graph);
#   3. folders depend only downwards, in this order (a folder may include
#      its own and any folder left of it):
#        core  db  auth  http  notify  domain  handlers  (top: main.c)
#      app.h, the process-wide context every layer is handed, is the one
#      exception: any module may include it; it includes only declarations
#      (core/config, notify/notify_config, http/router).
# Exits 1 when any check failed.
set -u
cd "$(dirname "$0")/../service" || exit 1

order="core db auth http notify domain handlers top"

edges=$(for f in $(find . -name '*.[ch]' | sed 's|^\./||' | sort); do
    m=${f%.*}
    sed -n 's/^#include "\([^"]*\)\.h".*/\1/p' "$f" | while read -r t; do
        [ "$t" = "$m" ] || echo "$m $t"
    done
done | sort -u)

bad=0

# 1. Pairs.
pairs=$(echo "$edges" | awk '{ e[$1 " " $2] = 1 } END {
    for (k in e) { split(k, p, " "); if ((p[2] " " p[1]) in e && p[1] < p[2]) print p[1] " <-> " p[2] }
}')
if [ -n "$pairs" ]; then
    echo "modules that include each other:"
    echo "$pairs" | sed 's/^/  /'
    bad=1
fi

# 2. Cycles.
if ! cycles=$(echo "$edges" | tsort 2>&1 >/dev/null) || [ -n "$cycles" ]; then
    echo "include cycles (tsort):"
    echo "$cycles" | sed 's/^/  /'
    bad=1
fi

# 3. Folder order.
layers=$(echo "$edges" | awk -v order="$order" '
    function folder(m) { return index(m, "/") ? substr(m, 1, index(m, "/") - 1) : "top" }
    BEGIN { n = split(order, o, " "); for (i = 1; i <= n; i++) rank[o[i]] = i }
    $2 == "app" { next }
    {
        a = folder($1); b = folder($2)
        if (!(a in rank) || !(b in rank)) { print "  " $1 " -> " $2 ": folder not in the order"; next }
        if (rank[b] > rank[a]) print "  " $1 " -> " $2 " (" a " may not depend on " b ")"
    }')
if [ -n "$layers" ]; then
    echo "includes against the folder order ($order):"
    echo "$layers"
    bad=1
fi

if [ "$bad" = 0 ]; then
    echo "$(echo "$edges" | wc -l) include edges between modules: no pair, no cycle, folders in order"
fi
exit "$bad"

#!/bin/sh
# Checks api-spec/openapi.yaml: valid OpenAPI 3.1, and documenting exactly the
# routes bin/reflectd serves (tests/spec/check.mjs says what differs).
# Part of `make lint`; needs node and npm (scripts/deps.sh --with-tools).
set -eu
cd "$(dirname "$0")/.."

for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "spec-check: $tool is missing; run scripts/deps.sh --with-tools" >&2
        exit 1
    }
done

# The validator and YAML parser, exactly as pinned in package-lock.json;
# installed again when the lock file is newer than the installed tree.
installed=tests/spec/node_modules/.package-lock.json
if [ ! -f "$installed" ] ||
    [ -n "$(find tests/spec/package-lock.json -newer "$installed")" ]; then
    echo "spec-check: installing tests/spec dependencies (npm ci)"
    npm ci --prefix tests/spec --no-audit --no-fund --loglevel=error
fi

# The routes come from the binary, so build it first: a stale bin/reflectd
# would compare the spec with yesterday's routing table.
"${MAKE:-make}" -s --no-print-directory build
mkdir -p build
bin/reflectd --routes > build/routes.txt

node tests/spec/check.mjs build/routes.txt

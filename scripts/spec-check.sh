#!/bin/sh
# Checks api-spec/openapi.yaml: valid OpenAPI 3.1, documenting exactly the
# routes bin/reflectd serves (tests/spec/check.mjs says what differs), and
# usable from a generated TypeScript client (tests/spec/client/journey.ts).
# Part of `make lint`; needs node and npm (scripts/deps.sh --with-tools).
set -eu
cd "$(dirname "$0")/.."

# The validators, exactly as pinned in tests/spec/package-lock.json.
scripts/npm-deps.sh

# The routes come from the binary, so build it first: a stale bin/reflectd
# would compare the spec with yesterday's routing table.
"${MAKE:-make}" -s --no-print-directory build
mkdir -p build
bin/reflectd --routes > build/routes.txt

node tests/spec/check.mjs build/routes.txt

# A client generated from the spec (openapi-typescript's default output) and
# a small journey written against it with openapi-fetch, type-checked under
# tsc --strict: the spec must allow the calls an app developer would write.
tests/spec/node_modules/.bin/openapi-typescript api-spec/openapi.yaml \
    -o tests/spec/client/api.d.ts --silent
if tests/spec/node_modules/.bin/tsc -p tests/spec/client/tsconfig.json; then
    echo "spec-check: generated client journey type-checks (tsc --strict)"
else
    echo "spec-check: the client journey does not compile against the generated types" >&2
    exit 1
fi

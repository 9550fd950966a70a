#!/bin/sh
# Installs tests/spec's npm packages (the OpenAPI and JSON Schema validators,
# openapi-typescript, openapi-fetch, TypeScript) exactly as pinned in
# tests/spec/package-lock.json, when the installed tree is missing or older
# than the lock file. Used by spec-check.sh (lint) and test.sh.
set -eu
cd "$(dirname "$0")/.."
for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "npm-deps: $tool is missing; run scripts/deps.sh --with-node" >&2
        exit 1
    }
done
installed=tests/spec/node_modules/.package-lock.json
if [ ! -f "$installed" ] ||
    [ -n "$(find tests/spec/package-lock.json -newer "$installed")" ]; then
    echo "npm-deps: installing tests/spec dependencies (npm ci)"
    npm ci --prefix tests/spec --no-audit --no-fund --loglevel=error
fi

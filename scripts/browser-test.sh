#!/bin/sh
# browser-test.sh - the feedback form in a real browser (tests/browser/run.mjs):
# Debian's Chromium, headless, against the server at $REFLECTD_ADDR (database
# $DATABASE_URL). Part of `make test` (scripts/test.sh starts the server).
# Screenshots go to build/artifacts/ (CI keeps that folder). The last line
# is "browser: N passed, M failed".
set -eu
cd "$(dirname "$0")/.."

for tool in node npm /usr/bin/chromium; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "browser-test: $tool is missing; run scripts/deps.sh" >&2
        echo "browser: 0 passed, 1 failed"
        exit 1
    }
done

# puppeteer-core and axe-core exactly as pinned in package-lock.json;
# puppeteer-core never downloads a browser, and is told not to try.
installed=tests/browser/node_modules/.package-lock.json
if [ ! -f "$installed" ] ||
    [ -n "$(find tests/browser/package-lock.json -newer "$installed")" ]; then
    echo "browser-test: installing tests/browser dependencies (npm ci)"
    PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
fi

ARTIFACTS=${ARTIFACTS:-build/artifacts} timeout 300 node tests/browser/run.mjs

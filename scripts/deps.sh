#!/bin/sh
# Installs the Debian packages the build, the tests and the embedded database
# need, when any is missing. As root it runs apt-get; as another user it says
# what to install and fails.
set -eu
PKGS="gcc make pkg-config libevent-dev libjansson-dev libjwt-dev libpq-dev libargon2-dev \
libqrencode-dev zlib1g-dev \
libcriterion-dev postgresql postgresql-contrib chromium libcurl4-openssl-dev libssl-dev openssl \
python3 python3-cryptography python3-h2 python3-aiosmtpd"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Node.js for the contract checks and the browser test of `make test`
# (tests/spec/responses.mjs, tests/browser/run.mjs), the OpenID Connect test
# provider (tests/oidc) and lint, checked by
# command: a machine may have it from elsewhere.
if [ "${1:-}" = "--with-node" ] || [ "${1:-}" = "--with-tools" ]; then
    for t in node:nodejs npm:npm; do
        command -v "${t%%:*}" >/dev/null 2>&1 || missing="$missing ${t#*:}"
    done
fi
# Tools for lint, fuzz, bench and the run smoke test, checked by command.
if [ "${1:-}" = "--with-tools" ]; then
    dpkg-query -W -f='${Status}' libssl-dev 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing libssl-dev" # the token fuzzer signs with HMAC
    for t in clang:clang clang-format:clang-format cppcheck:cppcheck curl:curl \
        wrk:wrk valgrind:valgrind pgbench:postgresql-contrib; do
        command -v "${t%%:*}" >/dev/null 2>&1 || [ -x "/usr/lib/postgresql/15/bin/${t%%:*}" ] ||
            missing="$missing ${t#*:}"
    done
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages:$missing" >&2
    echo "install them with: sudo apt-get install$missing" >&2
    exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null

#!/bin/sh
# Installs the Debian packages the build, the tests and the embedded database
# need, when any is missing. As root it runs apt-get; as another user it says
# what to install and fails.
set -eu
PKGS="gcc make pkg-config libevent-dev libjansson-dev libjwt-dev libpq-dev libargon2-dev \
libcriterion-dev postgresql postgresql-contrib"
[ "${1:-}" = "--with-tools" ] && PKGS="$PKGS clang clang-format cppcheck nodejs npm wrk valgrind"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
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

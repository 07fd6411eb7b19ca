#!/usr/bin/env bash
# Package manager runs (read-only queries).
. "$(dirname "$0")/lib.sh"
dpkg --version >/dev/null
apt-get --version >/dev/null

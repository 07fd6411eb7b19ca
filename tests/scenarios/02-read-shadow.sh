#!/usr/bin/env bash
# A read of /etc/shadow.
. "$(dirname "$0")/lib.sh"
cat /etc/shadow >/dev/null

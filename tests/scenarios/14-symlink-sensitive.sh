#!/usr/bin/env bash
# A symlink to a sensitive file.
. "$(dirname "$0")/lib.sh"
rm -f "$WORK/shadow-link"
ln -s /etc/shadow "$WORK/shadow-link"
exit 0

#!/usr/bin/env bash
# New user and network namespaces.
. "$(dirname "$0")/lib.sh"
unshare --user --net true
exit 0

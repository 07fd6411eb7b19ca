# Shared helpers for the scenario scripts. Loopback addresses only.
set -u
WORK="${FERRET_SCENARIO_DIR:-/tmp/ferret-scenarios}"
mkdir -p "$WORK"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# Prints a free TCP port on 127.0.0.1.
free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Runs a listener that sends "exit" to whoever connects, then closes.
listener() {
    local port=$1
    (printf 'exit\n' | timeout 10 nc.openbsd -l -N 127.0.0.1 "$port" >/dev/null 2>&1) &
    # Wait until it listens.
    # Wait until it listens (without connecting: that would use it up).
    for _ in $(seq 100); do
        grep -qi ":$(printf '%04X' "$port") 00000000:0000 0A" /proc/net/tcp && return 0
        sleep 0.05
    done
}

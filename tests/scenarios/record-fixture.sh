#!/usr/bin/env bash
# Records the scenario suite into a capture, as the fixture
# fixtures/captures/v1/scenarios.cap was made. Needs root.
#   bash tests/scenarios/record-fixture.sh OUT.cap
set -euo pipefail
out="${1:?usage: record-fixture.sh OUT.cap}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cargo build --release -p recorder --manifest-path "$root/Cargo.toml" >&2
gate="$(mktemp -u /tmp/ferret-gate.XXXXXX)"
mkfifo "$gate"
# A clean environment, so the capture holds no variables of the build.
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    bash -c "read _ < '$gate'; exec bash '$here/run-all.sh'" &
gate_pid=$!
"$root/target/release/recorder" --out "$out" --pid "$gate_pid" --quiet 2> "$out.log" &
rec=$!
until grep -q recording "$out.log" 2>/dev/null; do sleep 0.1; done
echo go > "$gate"
wait "$gate_pid"
sleep 0.3
kill -INT "$rec"
wait "$rec"
rm -f "$gate"
cat "$out.log" >&2
rm -f "$out.log"
